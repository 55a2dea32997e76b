"""Face alignment: a 5-point similarity transform onto an embedder's landmark template
(ArcFace's 112x112 one unless the model's registry entry gives another).

The transform (rotation, uniform scale, translation) is the least-squares fit of Umeyama
(1991), computed for a whole batch at once on the host; crops are sampled bilinearly with
zeros outside the image, the same as ``cv2.warpAffine`` with its defaults, in one
``F.grid_sample`` call on the image's device.
"""

from __future__ import annotations

import numpy as np
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

    Umeyama's fit without reflection, which in the plane has a closed form: with both
    point sets centred, the rotation-and-scale matrix is ``[[a, -b], [b, a]]`` where ``a``
    sums the dot products and ``b`` the cross products of corresponding points, over the
    points' variance. Computed on the host in float64 (a handful of numbers per face).

    Args:
        points: (N, K, 2) landmark coordinates in the source image.
        template: (K, 2) target coordinates in the crop.

    Returns:
        (N, 2, 3) float64 affine matrices ``M`` with ``crop_xy = M @ [x, y, 1]``, on
        ``points``' device.
    """
    matrices = _similarities(_host(points), _host(template))
    return torch.from_numpy(matrices).to(points.device)


def _similarities(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(N, 2, 3) similarities taking (N, K, 2) ``src`` onto (K, 2) ``dst`` (see
    ``similarity_transforms``)."""
    src_mean = src.mean(axis=1)                                          # (N, 2)
    dst_mean = dst.mean(axis=0)                                          # (2,)
    s, d = src - src_mean[:, None, :], dst - dst_mean
    variance = np.maximum((s ** 2).sum(axis=(1, 2)), 1e-12)
    a = (s * d).sum(axis=(1, 2)) / variance
    b = (s[..., 0] * d[..., 1] - s[..., 1] * d[..., 0]).sum(axis=1) / variance
    linear = np.stack([np.stack([a, -b], axis=-1), np.stack([b, a], axis=-1)], axis=1)
    translation = dst_mean - np.einsum("nij,nj->ni", linear, src_mean)
    return np.concatenate([linear, translation[:, :, None]], axis=2)


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
    theta = torch.from_numpy(_sampling_matrices(_host(transforms), size, width, height))
    grid = F.affine_grid(theta.to(image.device), [n, 1, size, size], align_corners=False)
    batch = image.unsqueeze(0).expand(n, -1, -1, -1)
    return F.grid_sample(batch, grid.to(image.dtype), mode="bilinear",
                         padding_mode="zeros", align_corners=False)


def _sampling_matrices(transforms: np.ndarray, size: int, width: int, height: int
                       ) -> np.ndarray:
    """(N, 2, 3) float64 matrices from a crop's normalised coordinates to the image's, as
    ``F.affine_grid`` takes them (-1..1 across the outer edges of the pixels, as
    ``align_corners=False`` counts them): crop pixel = (u + 1) * size / 2 - 1/2, then
    ``transforms``' inverse, then image pixel -> (2 x + 1) / W - 1."""
    to_pixels = np.array([[size / 2, 0.0, (size - 1) / 2],
                          [0.0, size / 2, (size - 1) / 2],
                          [0.0, 0.0, 1.0]])
    to_normalised = np.array([[2.0 / width, 0.0, 1.0 / width - 1.0],
                              [0.0, 2.0 / height, 1.0 / height - 1.0]])
    return to_normalised @ _homogeneous(_inverted(transforms)) @ to_pixels


def _inverted(matrices: np.ndarray) -> np.ndarray:
    """Invert (N, 2, 3) affine matrices."""
    inverse_linear = np.linalg.inv(matrices[:, :, :2])
    return np.concatenate([inverse_linear, -inverse_linear @ matrices[:, :, 2:]], axis=2)


def _homogeneous(matrices: np.ndarray) -> np.ndarray:
    """(N, 2, 3) affine matrices as (N, 3, 3)."""
    last = np.broadcast_to(np.array([0.0, 0.0, 1.0]), (matrices.shape[0], 1, 3))
    return np.concatenate([matrices, last], axis=1)


def _host(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float64).numpy()


def align_faces(image: torch.Tensor, landmarks: torch.Tensor, size: int = CROP_SIZE,
                template: torch.Tensor | None = None) -> torch.Tensor:
    """Aligned crops of every face of one image.

    Only the part of the image the crops cover is converted to float, so a face in a
    large photo costs no more than a face in a small one.

    Args:
        image: (H, W, 3) uint8 RGB tensor, on the device to work on.
        landmarks: (N, 5, 2) points in image pixels (on any device; the transforms are
            worked out on the host).
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
    transforms = _similarities(_host(landmarks), _host(template))
    x0, y0, x1, y1 = _covered_region(transforms, size, image.shape[1], image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return torch.zeros((landmarks.shape[0], 3, size, size), device=image.device)
    region = image[y0:y1, x0:x1].permute(2, 0, 1).float()
    shifted = transforms.copy()
    shifted[:, :, 2] += transforms[:, :, :2] @ np.array([x0, y0], dtype=np.float64)
    return warp_crops(region, torch.from_numpy(shifted), size)


def _covered_region(transforms: np.ndarray, size: int, width: int,
                    height: int) -> tuple[int, int, int, int]:
    """Smallest pixel rectangle (x0, y0, x1, y1) holding every crop's source area."""
    corners = np.array([[0, 0, 1], [size - 1, 0, 1], [0, size - 1, 1],
                        [size - 1, size - 1, 1]], dtype=np.float64)
    src = (corners @ _inverted(transforms).transpose(0, 2, 1)).reshape(-1, 2)  # (N*4, 2)
    low = np.floor(src.min(axis=0)) - 2
    high = np.ceil(src.max(axis=0)) + 3
    x0, y0 = int(np.clip(low[0], 0, width)), int(np.clip(low[1], 0, height))
    x1, y1 = int(np.clip(high[0], 0, width)), int(np.clip(high[1], 0, height))
    return x0, y0, max(x0, x1), max(y0, y1)
