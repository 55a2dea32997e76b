"""SFace (Zhong et al., 2021), the face embedder of the OpenCV Zoo, layer by layer.

A MobileFaceNet-style network: a 3x3 stem, thirteen depthwise-separable units with
BatchNorm and PReLU, a BatchNorm over the 7x7x1024 map, a fully connected layer to 128
and a final BatchNorm. The exported graph keeps every BatchNorm separate; ``fuse()``
folds them into the convolutions and the linear layer for inference.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from facerec.errors import ModelError
from facerec.models.nets.folding import fold_batchnorm
from facerec.models.nets.onnx_weights import initializers, load_onnx

if TYPE_CHECKING:
    from facerec.models.registry import ModelSpec

# (out_channels, depthwise stride) of units conv_2 .. conv_14
_UNITS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
          (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
_CONV_BN_EPS = 1e-3
_HEAD_BN_EPS = 2e-5


class ConvBNPReLU(nn.Module):
    """Convolution without bias, BatchNorm, PReLU with one slope per channel."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2,
                              groups=groups, bias=False)
        self.bn: nn.Module = nn.BatchNorm2d(out_channels, eps=_CONV_BN_EPS)
        self.prelu = nn.PReLU(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.bn(self.conv(x)))

    def fuse(self) -> None:
        """Fold the BatchNorm into the convolution (eval mode only)."""
        if isinstance(self.bn, nn.BatchNorm2d):
            fold_batchnorm(self.conv, self.bn)
            self.bn = nn.Identity()


class DepthwiseSeparable(nn.Module):
    """Depthwise 3x3 (carrying the stride), then pointwise 1x1."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.dw = ConvBNPReLU(in_channels, in_channels, 3, stride, groups=in_channels)
        self.pw = ConvBNPReLU(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class SFace(nn.Module):
    """The SFace embedder.

    Input: (N, 3, H, W) float32 **RGB** pixel values in 0..255 of faces aligned to the
    ArcFace 5-point template, (H, W) = ``input_size`` (112, 112 for the published
    weights); the network normalises them itself as ``(x - mean) * scale``.
    Output: (N, embedding_size) float32 embeddings, not normalised to unit length.
    """

    def __init__(self, embedding_size: int = 128, input_size: tuple[int, int] = (112, 112),
                 mean: float = 127.5, scale: float = 1.0 / 128.0) -> None:
        super().__init__()
        if input_size[0] % 16 or input_size[1] % 16:
            raise ModelError(f"SFace needs an input size divisible by 16, got {input_size}")
        self.input_size = input_size
        self.stem = ConvBNPReLU(3, 32, 3)
        units, channels = [], 32
        for out_channels, stride in _UNITS:
            units.append(DepthwiseSeparable(channels, out_channels, stride))
            channels = out_channels
        self.units = nn.Sequential(*units)
        self.features_bn: nn.Module = nn.BatchNorm2d(channels, eps=_HEAD_BN_EPS)
        cells = (input_size[0] // 16) * (input_size[1] // 16)
        self.fc = nn.Linear(channels * cells, embedding_size)
        self.embedding_bn: nn.Module = nn.BatchNorm1d(embedding_size, eps=_HEAD_BN_EPS)
        self.mean, self.scale = float(mean), float(scale)

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> SFace:
        """The architecture of a registry entry (embedding size, input size, normalisation)."""
        if spec.embedding_size is None or spec.channel_order != "RGB":
            raise ModelError(f"{spec.name}: SFace needs an embedding size and RGB input")
        return cls(spec.embedding_size, spec.input_size, spec.mean, spec.scale)

    @staticmethod
    def state_from_file(path: Path, spec: ModelSpec) -> dict[str, torch.Tensor]:
        """The weights of ``spec``'s ONNX file; its normalisation must match the entry's."""
        return sface_state_dict(path, spec.mean, spec.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (3, self.input_size[1], self.input_size[0])
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ModelError(f"SFace takes (N, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}")
        x = self.units(self.stem((x - self.mean) * self.scale))
        x = self.features_bn(x).flatten(1)
        return self.embedding_bn(self.fc(x))

    def for_inference(self) -> SFace:
        """Fold the BatchNorms (see ``fuse``); returns self. What the embedder runs."""
        return self.fuse()

    def fuse(self) -> SFace:
        """Fold every BatchNorm into the layer before it; returns self (eval mode only)."""
        for module in self.modules():
            if isinstance(module, ConvBNPReLU):
                module.fuse()
        if isinstance(self.embedding_bn, nn.BatchNorm1d):
            fold_batchnorm(self.fc, self.embedding_bn)
            self.embedding_bn = nn.Identity()
        return self


def sface_state_dict(path: Path, mean: float = 127.5,
                     scale: float = 1.0 / 128.0) -> dict[str, torch.Tensor]:
    """Read SFace's weights from its ONNX file, keyed by this module's parameter names.

    The graph's own input normalisation is checked against ``mean`` and ``scale``
    (ModelError if they differ) and not returned: the module takes it from its spec.
    """
    src = initializers(load_onnx(path))
    stored = (float(src["scalar_op1"].reshape(())), float(src["scalar_op2"].reshape(())))
    if abs(stored[0] - mean) > 1e-6 or abs(stored[1] - scale) > 1e-9:
        raise ModelError(f"{path}: the file normalises with mean {stored[0]} and scale "
                         f"{stored[1]}, the registry says {mean} and {scale}")
    state: dict[str, torch.Tensor] = {}

    def conv_bn_prelu(ours: str, theirs: str) -> None:
        state[f"{ours}.conv.weight"] = src[f"{theirs}_conv2d_weight"]
        _batchnorm(state, f"{ours}.bn", src, f"{theirs}_batchnorm")
        state[f"{ours}.prelu.weight"] = src[f"{theirs}_relu_gamma"].flatten()

    conv_bn_prelu("stem", "conv_1")
    for index in range(len(_UNITS)):
        conv_bn_prelu(f"units.{index}.dw", f"conv_{index + 2}_dw")
        conv_bn_prelu(f"units.{index}.pw", f"conv_{index + 2}")
    _batchnorm(state, "features_bn", src, "bn1")
    state["fc.weight"] = src["pre_fc1_weight"]
    state["fc.bias"] = src["pre_fc1_bias"]
    _batchnorm(state, "embedding_bn", src, "fc1")
    return state


def _batchnorm(state: dict[str, torch.Tensor], ours: str, src: dict[str, torch.Tensor],
               theirs: str) -> None:
    state[f"{ours}.weight"] = src[f"{theirs}_gamma"]
    state[f"{ours}.bias"] = src[f"{theirs}_beta"]
    state[f"{ours}.running_mean"] = src[f"{theirs}_moving_mean"]
    state[f"{ours}.running_var"] = src[f"{theirs}_moving_var"]
    state[f"{ours}.num_batches_tracked"] = torch.tensor(0)
