"""YuNet, the light face detector of libfacedetection (Wu et al., 2023), layer by layer.

Backbone of depthwise-separable units with four max-pools, a top-down feature pyramid at
strides 8, 16 and 32, and per-level heads for a face score (``cls``), an objectness score
(``obj``), a box (``bbox``) and five landmarks (``kps``). Module names follow the upstream
training code, so the ONNX initializers load by name; the exported graph has each
BatchNorm already folded into the convolution before it, and so has this module.

The network is fully convolutional: any input whose height and width are multiples of 32
works, not only the 640x640 it was exported at.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from facerec.errors import ModelError
from facerec.models.nets.onednn import with_relu
from facerec.models.nets.onnx_weights import initializers, load_onnx

if TYPE_CHECKING:
    from facerec.models.registry import ModelSpec

STRIDES = (8, 16, 32)
DIVISOR = 32


class ConvBNReLU(nn.Module):
    """3x3 convolution (BatchNorm folded into its bias) followed by ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, stride, 1)
        self.relu = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return F.relu(x, inplace=True) if self.relu else x

    def fuse_relu(self) -> None:
        """Apply the ReLU inside the convolution's call (``nets.onednn.with_relu``)."""
        if self.relu:
            self.conv, self.relu = with_relu(self.conv), False


class ConvDPUnit(nn.Module):
    """Pointwise 1x1 convolution, then depthwise 3x3 convolution, then optional ReLU."""

    def __init__(self, in_channels: int, out_channels: int, relu: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, groups=out_channels)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.conv1(x))
        return F.relu(x, inplace=True) if self.relu else x

    def fuse_relu(self) -> None:
        """Apply the ReLU inside the depthwise convolution's call
        (``nets.onednn.with_relu``)."""
        if self.relu:
            self.conv2, self.relu = with_relu(self.conv2), False


class ConvHead(nn.Module):
    """The stem: a strided 3x3 convolution and one depthwise-separable unit."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = ConvBNReLU(in_channels, mid_channels, stride=2)
        self.conv2 = ConvDPUnit(mid_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class Conv4LayerBlock(nn.Module):
    """Two depthwise-separable units."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = ConvDPUnit(in_channels, in_channels)
        self.conv2 = ConvDPUnit(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class Backbone(nn.Module):
    """Returns the feature maps at strides 8, 16 and 32 (64 channels each)."""

    def __init__(self) -> None:
        super().__init__()
        self.model0 = ConvHead(3, 16, 16)
        self.model1 = Conv4LayerBlock(16, 32)
        self.model2 = Conv4LayerBlock(32, 64)
        self.model3 = Conv4LayerBlock(64, 64)
        self.model4 = Conv4LayerBlock(64, 64)
        self.model5 = Conv4LayerBlock(64, 64)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = max_pool_2x2(self.model0(x))
        x = max_pool_2x2(self.model2(self.model1(x)))
        stride8 = self.model3(x)
        stride16 = self.model4(max_pool_2x2(stride8))
        stride32 = self.model5(max_pool_2x2(stride16))
        return [stride8, stride16, stride32]


def max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """2x2 max pooling with stride 2 (an odd last row or column left out), as
    ``F.max_pool2d(x, 2)``: (N, C, H, W) -> (N, C, H // 2, W // 2), the same values.

    On the CPU it is taken as the elementwise maximum of the four strided views of ``x``:
    PyTorch's CPU pooling also works out the index of every maximum, which inference
    drops, and on channels-last maps the views are 2-5x faster (the pools were a ninth of
    the detector's time). Elsewhere (CUDA's pooling kernel is one pass) it is the pool.
    """
    if not x.is_cpu:
        return F.max_pool2d(x, 2)
    height, width = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    top = torch.maximum(x[..., 0:height:2, 0:width:2], x[..., 0:height:2, 1:width:2])
    bottom = torch.maximum(x[..., 1:height:2, 0:width:2], x[..., 1:height:2, 1:width:2])
    return torch.maximum(top, bottom)


class TopDownNeck(nn.Module):
    """Feature pyramid: each level adds the 2x nearest upsampling of the level above."""

    def __init__(self, channels: int = 64, levels: int = 3) -> None:
        super().__init__()
        self.lateral_convs = nn.ModuleList(ConvDPUnit(channels, channels) for _ in range(levels))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        out = [self.lateral_convs[-1](feats[-1])]
        for level in range(len(feats) - 2, -1, -1):
            upsampled = F.interpolate(out[0], scale_factor=2.0, mode="nearest")
            out.insert(0, self.lateral_convs[level](feats[level] + upsampled))
        return out


HEAD_OUTPUTS = (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10))


class YuNetHead(nn.Module):
    """Per-level predictions: 1 score, 1 objectness, 4 box and 10 landmark channels."""

    def __init__(self, channels: int = 64, levels: int = 3) -> None:
        super().__init__()

        def branch(out_channels: int) -> nn.ModuleList:
            return nn.ModuleList(ConvDPUnit(channels, out_channels, relu=False)
                                 for _ in range(levels))

        self.multi_level_cls = branch(1)
        self.multi_level_bbox = branch(4)
        self.multi_level_obj = branch(1)
        self.multi_level_kps = branch(10)

    def forward(self, feats: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for level, (stride, feat) in enumerate(zip(STRIDES, feats)):
            for kind, _ in HEAD_OUTPUTS:
                branch = getattr(self, f"multi_level_{kind}")[level]
                out[f"{kind}_{stride}"] = _activate(kind, _flatten(branch(feat)))
        return out

    def fused(self) -> FusedYuNetHead:
        """The same head with each level's four branches merged into one unit."""
        return FusedYuNetHead(self)


class FusedYuNetHead(nn.Module):
    """YuNetHead for inference: per level, one 1x1 convolution to all 16 output channels
    and one depthwise 3x3 over them, instead of four of each. Every output channel sees
    exactly the weights it saw before (the branches are pointwise-then-depthwise, so
    stacking their channels changes no arithmetic), at a quarter of the kernel launches.
    """

    def __init__(self, head: YuNetHead) -> None:
        super().__init__()
        units = []
        for level in range(len(STRIDES)):
            branches = [getattr(head, f"multi_level_{kind}")[level] for kind, _ in HEAD_OUTPUTS]
            in_channels = branches[0].conv1.in_channels
            unit = ConvDPUnit(in_channels, sum(n for _, n in HEAD_OUTPUTS), relu=False)
            for name in ("conv1", "conv2"):
                target = getattr(unit, name)
                target.weight.data = torch.cat([getattr(b, name).weight.data for b in branches])
                target.bias.data = torch.cat([getattr(b, name).bias.data for b in branches])
            units.append(unit)
        self.levels = nn.ModuleList(units)

    def forward(self, feats: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for stride, unit, feat in zip(STRIDES, self.levels, feats):
            start, merged = 0, _flatten(unit(feat))
            for kind, channels in HEAD_OUTPUTS:
                part = merged[..., start:start + channels]
                out[f"{kind}_{stride}"] = _activate(kind, part)
                start += channels
        return out


def _activate(kind: str, x: torch.Tensor) -> torch.Tensor:
    """Scores and objectness are probabilities; boxes and landmarks stay raw."""
    return x.sigmoid() if kind in ("cls", "obj") else x


def _flatten(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, H*W, C), row-major over the grid like the exported graph."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, x.shape[1])


class YuNet(nn.Module):
    """The YuNet face detector.

    Input: (N, 3, H, W) float32 **BGR** pixel values in 0..255 (RGB after ``take_rgb()``),
    H and W multiples of 32.
    Output: a dict keyed like the exported graph's outputs, for each stride s in (8, 16, 32)
    with A_s = (H/s) * (W/s) grid cells in row-major order:
    ``cls_s`` and ``obj_s`` (N, A_s, 1) probabilities, ``bbox_s`` (N, A_s, 4) raw box
    offsets and log sizes, ``kps_s`` (N, A_s, 10) raw landmark offsets, all in grid units.
    """

    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone()
        self.neck = TopDownNeck()
        self.bbox_head: nn.Module = YuNetHead()
        self.rgb_input = False

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> YuNet:
        """The architecture of a registry entry: YuNet takes raw 0..255 BGR pixels."""
        if spec.channel_order != "BGR" or spec.mean != 0.0 or spec.scale != 1.0:
            raise ModelError(f"{spec.name}: YuNet takes unnormalised BGR pixels")
        return cls()

    @staticmethod
    def state_from_file(path: Path, spec: ModelSpec) -> dict[str, torch.Tensor]:
        """The weights of ``spec``'s ONNX file by parameter name."""
        return yunet_state_dict(path)

    def fuse(self) -> YuNet:
        """Merge the head branches for inference (see FusedYuNetHead); returns self."""
        if isinstance(self.bbox_head, YuNetHead):
            self.bbox_head = self.bbox_head.fused()
        return self

    divisor = DIVISOR
    """Input heights and widths must be multiples of this."""

    def for_inference(self) -> YuNet:
        """Merge the head branches, take RGB input and apply each ReLU inside the
        convolution before it (see ``fuse``, ``take_rgb`` and ``nets.onednn``); returns
        self. This is what ``facerec.faces.detector`` runs."""
        self.fuse().take_rgb()
        for module in self.modules():
            if isinstance(module, (ConvBNReLU, ConvDPUnit)):
                module.fuse_relu()
        return self

    @torch.inference_mode()
    def decode(self, raw: dict[str, torch.Tensor], height: int, width: int,
               score_threshold: float
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Faces scoring at least ``score_threshold`` in a (N, 3, height, width) batch's
        outputs, in batch pixels.

        Returns image index (K,), boxes (K, 4) xyxy, landmarks (K, 5, 2) in the order
        of ``facerec.types``, scores (K,); only the K cells above the threshold are
        decoded. A face's score is the geometric mean of its class and objectness scores.
        """
        def cat(kind: str) -> torch.Tensor:
            return torch.cat([raw[f"{kind}_{s}"] for s in STRIDES], dim=1)

        scores = (cat("cls").clamp(0, 1) * cat("obj").clamp(0, 1)).sqrt().squeeze(-1)
        image, anchor = torch.nonzero(scores >= score_threshold, as_tuple=True)
        grid = self._grid(height, width, scores.device)[anchor]
        cell, stride = grid[:, :2], grid[:, 2:]
        bbox = cat("bbox")[image, anchor]
        centre = (bbox[:, :2] + cell) * stride
        size = bbox[:, 2:].exp() * stride
        boxes = torch.cat([centre - size / 2, centre + size / 2], dim=1)
        kps = cat("kps")[image, anchor].reshape(-1, 5, 2)
        landmarks = (kps + cell[:, None, :]) * stride[:, None, :]
        return image, boxes, landmarks, scores[image, anchor]

    def score_maps(self, raw: dict[str, torch.Tensor], height: int, width: int
                   ) -> torch.Tensor:
        """(N, height, width) face score of the cell covering each pixel of a (N, 3,
        height, width) batch, the highest over the levels (for pictures of where the
        detector fires)."""
        maps = []
        for stride in STRIDES:
            rows, columns = height // stride, width // stride
            level = (raw[f"cls_{stride}"].clamp(0, 1) * raw[f"obj_{stride}"].clamp(0, 1))
            level = level.sqrt().reshape(-1, 1, rows, columns)
            maps.append(F.interpolate(level, size=(height, width), mode="nearest"))
        return torch.stack(maps).amax(dim=0)[:, 0]

    def _grid(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        """(A, 3) rows of (column, row, stride) for every cell of every level, cached."""
        cache = self.__dict__.setdefault("_grids", {})
        key = (height, width, str(device))
        if key not in cache:
            levels = []
            for stride in STRIDES:
                rows, cols = height // stride, width // stride
                r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
                s = torch.full_like(r, stride)
                levels.append(torch.stack([c, r, s], dim=-1).reshape(-1, 3))
            cache[key] = torch.cat(levels).float().to(device)
        return cache[key]

    def take_rgb(self) -> YuNet:
        """Fold the RGB -> BGR channel swap into the stem; afterwards the network takes
        **RGB** input and gives the same outputs, saving a copy of every frame. Calling
        it again changes nothing."""
        if not self.rgb_input:
            stem = self.backbone.model0.conv1.conv
            stem.weight.data = stem.weight.data.flip(1).contiguous()
            self.rgb_input = True
        return self

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % DIVISOR or x.shape[3] % DIVISOR:
            raise ModelError(f"YuNet takes (N, 3, H, W) with H, W multiples of {DIVISOR}, "
                             f"got {tuple(x.shape)}")
        return self.bbox_head(self.neck(self.backbone(x)))


def yunet_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read YuNet's weights from its ONNX file, keyed by this module's parameter names.

    The exporter named the pointwise convolutions after the training code but gave the
    stem and every folded depthwise convolution an anonymous number. Those are named
    here from the graph: the first convolution is the stem, and an anonymous convolution
    is the depthwise ``conv2`` of the unit whose named ``conv1`` comes just before it.
    """
    model = load_onnx(path)
    tensors = initializers(model)
    state: dict[str, torch.Tensor] = {}
    unit: str | None = None
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        weight, bias = node.input[1], node.input[2]
        if weight.endswith(".weight"):
            name = weight[: -len(".weight")]
            if name.endswith(".conv1"):
                unit = name[: -len(".conv1")]
        elif unit is None:
            name = "backbone.model0.conv1.conv"
        else:
            name = f"{unit}.conv2"
        state[f"{name}.weight"] = tensors[weight]
        state[f"{name}.bias"] = tensors[bias]
    return state
