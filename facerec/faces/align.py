"""Face alignment: a 5-point similarity transform onto an embedder's landmark template
(ArcFace's 112x112 one unless the model's registry entry gives another).

The transform (rotation, uniform scale, translation) is the least-squares fit of Umeyama
(1991), computed for a whole batch at once; crops are sampled bilinearly with zeros
outside the image, the same as ``cv2.warpAffine`` with its defaults.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ARCFACE_TEMPLATE = torch.tensor([
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
], dtype=torch.float64)
"""Where the five landmarks land in a 112x112 crop, in the order of ``types.Detection``."""

CROP_SIZE = 112


def similarity_transforms(points: torch.Tensor,
                          template: torch.Tensor = ARCFACE_TEMPLATE) -> torch.Tensor:
    """Least-squares similarity transforms mapping ``points`` onto ``template``.

    Args:
        points: (N, K, 2) landmark coordinates in the source image.
        template: (K, 2) target coordinates in the crop.

    Returns:
        (N, 2, 3) float64 affine matrices ``M`` with ``crop_xy = M @ [x, y, 1]``.
    """
    src = points.to(torch.float64)
    dst = template.to(src.device, torch.float64).expand_as(src)
    src_mean, dst_mean = src.mean(dim=1, keepdim=True), dst.mean(dim=1, keepdim=True)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.transpose(1, 2) @ src_c / src.shape[1]            # (N, 2, 2)
    u, s, vh = torch.linalg.svd(covariance)
    sign = torch.sign(torch.linalg.det(u) * torch.linalg.det(vh))
    d = torch.ones_like(s)
    d[:, -1] = torch.where(sign < 0, -1.0, 1.0)
    rotation = u @ torch.diag_embed(d) @ vh
    src_var = src_c.pow(2).sum(dim=(1, 2)) / src.shape[1]
    scale = (s * d).sum(dim=1) / src_var.clamp_min(1e-12)
    linear = rotation * scale[:, None, None]
    translation = dst_mean.transpose(1, 2) - linear @ src_mean.transpose(1, 2)
    return torch.cat([linear, translation], dim=2)


def warp_crops(image: torch.Tensor, transforms: torch.Tensor,
               size: int = CROP_SIZE) -> torch.Tensor:
    """Sample aligned crops from one image.

    Args:
        image: (3, H, W) float tensor.
        transforms: (N, 2, 3) matrices from image pixels to crop pixels (pixel centres
            at integer coordinates, as OpenCV counts them).
        size: side of the square crop.

    Returns:
        (N, 3, size, size) crops, same dtype and device as ``image``.
    """
    n = transforms.shape[0]
    height, width = image.shape[-2:]
    inverse = _invert_affine(transforms.to(torch.float64))               # crop -> image
    coords = torch.arange(size, dtype=torch.float64, device=image.device)
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    grid = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).reshape(-1, 3)
    src = grid @ inverse.to(image.device).transpose(1, 2)                # (N, size*size, 2)
    norm = torch.tensor([width, height], dtype=torch.float64, device=image.device)
    src = (2.0 * src + 1.0) / norm - 1.0                                 # align_corners=False
    src = src.reshape(n, size, size, 2).to(image.dtype)
    batch = image.unsqueeze(0).expand(n, -1, -1, -1)
    return F.grid_sample(batch, src, mode="bilinear", padding_mode="zeros", align_corners=False)


def _invert_affine(matrices: torch.Tensor) -> torch.Tensor:
    """Invert (N, 2, 3) affine matrices."""
    linear, translation = matrices[:, :, :2], matrices[:, :, 2:]
    inverse_linear = torch.linalg.inv(linear)
    return torch.cat([inverse_linear, -inverse_linear @ translation], dim=2)


def align_faces(image: torch.Tensor, landmarks: torch.Tensor, size: int = CROP_SIZE,
                template: torch.Tensor | None = None) -> torch.Tensor:
    """Aligned crops of every face of one image.

    Only the part of the image the crops cover is converted to float, so a face in a
    large photo costs no more than a face in a small one.

    Args:
        image: (H, W, 3) uint8 RGB tensor, on the device to work on.
        landmarks: (N, 5, 2) points in image pixels.
        size: side of the crop.
        template: (5, 2) where the landmarks land in the crop; by default the 112-pixel
            ArcFace template scaled to ``size``.

    Returns:
        (N, 3, size, size) float32 RGB crops with values in 0..255.
    """
    if landmarks.shape[0] == 0:
        return torch.zeros((0, 3, size, size), dtype=torch.float32, device=image.device)
    if template is None:
        template = ARCFACE_TEMPLATE * (size / CROP_SIZE)
    transforms = similarity_transforms(landmarks, template)
    x0, y0, x1, y1 = _covered_region(transforms, size, image.shape[1], image.shape[0])
    region = image[y0:y1, x0:x1].permute(2, 0, 1).float()
    shift = transforms[:, :, :2] @ torch.tensor([[x0], [y0]], dtype=torch.float64,
                                                device=transforms.device)
    shifted = torch.cat([transforms[:, :, :2], transforms[:, :, 2:] + shift], dim=2)
    if region.numel() == 0:
        return torch.zeros((landmarks.shape[0], 3, size, size), device=image.device)
    return warp_crops(region, shifted, size)


def _covered_region(transforms: torch.Tensor, size: int, width: int,
                    height: int) -> tuple[int, int, int, int]:
    """Smallest pixel rectangle (x0, y0, x1, y1) holding every crop's source area."""
    corners = torch.tensor([[0, 0, 1], [size - 1, 0, 1], [0, size - 1, 1],
                            [size - 1, size - 1, 1]], dtype=torch.float64,
                           device=transforms.device)
    src = corners @ _invert_affine(transforms).transpose(1, 2)           # (N, 4, 2)
    low = src.reshape(-1, 2).min(dim=0).values.floor() - 2
    high = src.reshape(-1, 2).max(dim=0).values.ceil() + 3
    x0, y0 = int(low[0].clamp(0, width)), int(low[1].clamp(0, height))
    x1, y1 = int(high[0].clamp(0, width)), int(high[1].clamp(0, height))
    return x0, y0, max(x0, x1), max(y0, y1)
