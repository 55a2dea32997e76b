"""dlib's face recognition ResNet (the model behind ``face_recognition``), layer by layer.

A 29-convolution residual network trained by Davis King with a metric loss: a 7x7
convolution at stride 2 to 32 channels and a 3x3 max pool, then residual units in five
stages of 32, 64, 128, 256 and 256 channels (3, 4, 3, 3 and 1 units), every stage but the
first entered by a unit that halves the resolution; a global average pool and a linear
layer without bias to 128 values. Each residual unit is conv-affine-ReLU-conv-affine plus
its input, then ReLU. The details that make it dlib's and not a textbook ResNet:

- strided convolutions and pools have no padding (dlib's default for stride > 1), so a
  150x150 face becomes 72, 35, 17, 8, 3 and finally 1 pixel wide;
- a downsampling unit's shortcut is a 2x2 average pool of its input, with no projection;
  when the two branches differ in channels or size, the smaller is zero-padded at the end
  (dlib's ``add_prev``), e.g. the 3x3 residual is added to the top-left of a 4x4 shortcut;
- BatchNorm is stored already reduced to an affine per channel (``gamma * x + beta``);
- the input is RGB 0..255 minus a per-channel mean, divided by 256.

Weights are read from dlib's own file format (``facerec.models.nets.dlib_format``), no dlib needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facerec.errors import ModelError
from facerec.models.nets.dlib_format import DlibLayer, read_layers

if TYPE_CHECKING:
    from facerec.models.registry import ModelSpec

# (channels, residual units, whether the first unit halves the resolution), input first
_STAGES = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))
_STEM_CHANNELS = 32
_PIXEL_DIVISOR = 256.0


class ConvAffine(nn.Module):
    """A convolution followed by dlib's per-channel affine (``weight * x + bias``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int) -> None:
        super().__init__()
        padding = kernel // 2 if stride == 1 else 0  # dlib pads only unstrided layers
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding)
        self.affine_weight = nn.Parameter(torch.ones(out_channels))
        self.affine_bias = nn.Parameter(torch.zeros(out_channels))
        self.folded = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.folded:
            return x
        return x * self.affine_weight[:, None, None] + self.affine_bias[:, None, None]

    @torch.no_grad()
    def fold(self) -> None:
        """Fold the affine into the convolution's weights and bias (inference only)."""
        if self.folded:
            return
        bias = self.conv.bias
        if bias is None:
            raise ModelError("a folded dlib convolution needs a bias")
        self.conv.weight.mul_(self.affine_weight[:, None, None, None])
        bias.mul_(self.affine_weight).add_(self.affine_bias)
        self.folded = True


def add_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a + b`` for (N, C, H, W) tensors of different C, H, W: each is zero-padded at the
    end of those dimensions to the larger size (dlib's ``add_prev``)."""
    if a.shape == b.shape:
        return a + b
    size = [max(sa, sb) for sa, sb in zip(a.shape[1:], b.shape[1:])]

    def pad(t: torch.Tensor) -> torch.Tensor:
        c, h, w = t.shape[1:]
        return F.pad(t, (0, size[2] - w, 0, size[1] - h, 0, size[0] - c))

    return pad(a) + pad(b)


class ResidualUnit(nn.Module):
    """relu(block(x) + shortcut(x)); ``downsample``: the block's first convolution has
    stride 2 and the shortcut is a 2x2 average pool."""

    def __init__(self, in_channels: int, out_channels: int, downsample: bool) -> None:
        super().__init__()
        self.first = ConvAffine(in_channels, out_channels, 3, 2 if downsample else 1)
        self.second = ConvAffine(out_channels, out_channels, 3, 1)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.second(F.relu(self.first(x)))
        shortcut = F.avg_pool2d(x, 2, 2) if self.downsample else x
        return F.relu(add_padded(out, shortcut))


class DlibResNet(nn.Module):
    """The ``dlib_face_recognition_resnet_model_v1`` embedder.

    Input: (N, 3, 150, 150) float32 **RGB** pixel values in 0..255 of faces aligned to the
    model's 5-point template; normalised inside as ``(x - pixel_mean) / 256`` with the
    per-channel means stored in the weights file.
    Output: (N, 128) float32 descriptors as dlib computes them (not normalised; dlib and
    ``face_recognition`` compare them by Euclidean distance).
    """

    pixel_mean: torch.Tensor

    def __init__(self, embedding_size: int = 128, input_size: tuple[int, int] = (150, 150)
                 ) -> None:
        super().__init__()
        self.input_size = input_size
        self.register_buffer("pixel_mean", torch.zeros(3))
        self.stem = ConvAffine(3, _STEM_CHANNELS, 7, 2)
        units: list[nn.Module] = []
        channels = _STEM_CHANNELS
        for out_channels, count, downsample in _STAGES:
            for index in range(count):
                units.append(ResidualUnit(channels, out_channels, downsample and index == 0))
                channels = out_channels
        self.units = nn.Sequential(*units)
        self.fc = nn.Linear(channels, embedding_size, bias=False)

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> DlibResNet:
        """The architecture of a registry entry (embedding size and input size)."""
        if spec.embedding_size is None or spec.channel_order != "RGB":
            raise ModelError(f"{spec.name}: DlibResNet needs an embedding size and RGB input")
        return cls(spec.embedding_size, spec.input_size)

    @staticmethod
    def state_from_file(path: Path, spec: ModelSpec) -> dict[str, torch.Tensor]:
        """The tensors of ``spec``'s dlib file by parameter name."""
        return dlib_resnet_state_dict(path, DlibResNet.from_spec(spec))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (3, self.input_size[1], self.input_size[0])
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ModelError(f"DlibResNet takes (N, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}")
        x = (x - self.pixel_mean[:, None, None]) / _PIXEL_DIVISOR
        x = F.max_pool2d(F.relu(self.stem(x)), 3, 2)
        x = self.units(x)
        return self.fc(x.mean(dim=(2, 3)))

    def for_inference(self) -> DlibResNet:
        """Fold every affine into its convolution; returns self (eval mode only)."""
        for module in self.modules():
            if isinstance(module, ConvAffine):
                module.fold()
        return self


def dlib_resnet_state_dict(path: Path, net: DlibResNet) -> dict[str, torch.Tensor]:
    """Read a dlib face recognition network file into ``net``'s parameter names.

    The file's convolutions, affines and linear layer are taken in order and each is
    checked against the module's layer (shape, stride, padding), so a file of another
    architecture is refused rather than loaded wrongly.

    Raises:
        ModelError: the file does not hold this architecture.
    """
    layers = list(read_layers(path))
    convs = [layer for layer in layers if layer.kind == "con"]
    affines = [layer for layer in layers if layer.kind == "affine"]
    fcs = [layer for layer in layers if layer.kind == "fc"]
    targets = [m for m in net.modules() if isinstance(m, ConvAffine)]
    if not (len(convs) == len(affines) == len(targets) and len(fcs) == 1):
        raise ModelError(f"{path}: {len(convs)} convolutions, {len(affines)} affines and "
                         f"{len(fcs)} linear layers; DlibResNet has {len(targets)}, "
                         f"{len(targets)} and 1")
    names = {module: name for name, module in net.named_modules()}
    state: dict[str, torch.Tensor] = {}
    for module, conv, affine in zip(targets, convs, affines):
        prefix = names[module]
        weight, bias = _conv_tensors(conv, module.conv, path)
        state[f"{prefix}.conv.weight"], state[f"{prefix}.conv.bias"] = weight, bias
        gamma, beta = _affine_tensors(affine, module.conv.out_channels, path)
        state[f"{prefix}.affine_weight"], state[f"{prefix}.affine_bias"] = gamma, beta
    state["fc.weight"] = _fc_weight(fcs[0], net.fc, path)
    pixels = layers[0].settings
    state["pixel_mean"] = torch.tensor([pixels["avg_red"], pixels["avg_green"],
                                        pixels["avg_blue"]], dtype=torch.float32)
    if (pixels["nr"], pixels["nc"]) != (net.input_size[1], net.input_size[0]):
        raise ModelError(f"{path}: input {pixels['nc']}x{pixels['nr']}, expected "
                         f"{net.input_size[0]}x{net.input_size[1]}")
    return state


def _conv_tensors(layer: DlibLayer, conv: nn.Conv2d, path: Path
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    s = layer.settings
    found = (s["num_filters"], s["nr"], s["nc"], s["stride_y"], s["padding_y"])
    kernel, stride, padding = conv.kernel_size[0], conv.stride[0], conv.padding
    wanted = (conv.out_channels, kernel, kernel, stride, padding[0])
    weight_size = conv.weight.numel()
    if found != wanted or layer.params.size != weight_size + conv.out_channels:
        raise ModelError(f"{path}: a convolution (filters, rows, cols, stride, padding) "
                         f"{found} where DlibResNet has {wanted}")
    params = torch.from_numpy(layer.params.copy())
    return params[:weight_size].reshape(conv.weight.shape), params[weight_size:]


def _affine_tensors(layer: DlibLayer, channels: int, path: Path
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    if layer.settings.get("mode") != 0 or layer.params.size != 2 * channels:
        raise ModelError(f"{path}: an affine of {layer.params.size // 2} channels where "
                         f"DlibResNet has {channels}")
    params = torch.from_numpy(layer.params.copy())
    return params[:channels], params[channels:]


def _fc_weight(layer: DlibLayer, fc: nn.Linear, path: Path) -> torch.Tensor:
    s = layer.settings
    if (s["num_inputs"], s["num_outputs"]) != (fc.in_features, fc.out_features) \
            or s["bias_mode"] != 1:
        raise ModelError(f"{path}: a linear layer {s['num_inputs']}->{s['num_outputs']} "
                         f"where DlibResNet has {fc.in_features}->{fc.out_features}")
    # dlib multiplies inputs (rows) by an (inputs, outputs) matrix; torch's is transposed
    matrix = np.ascontiguousarray(layer.params.reshape(fc.in_features, fc.out_features).T)
    return torch.from_numpy(matrix)
