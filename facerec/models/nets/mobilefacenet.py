"""MobileFaceNet as trained by InsightFace on WebFace600K (``w600k_mbf``), layer by layer.

The network of InsightFace's ``buffalo_s`` recognition model: a 3x3 stem at stride 2, a
grouped 3x3 unit, then inverted-residual bottlenecks (1x1 expand, 3x3 depthwise, 1x1
linear projection, a shortcut where the shape allows) in three stages of 4, 6 and 2
residual units at 128, 256 and 256 channels, each stage entered by a strided bottleneck;
then 1x1 convolutions to 512 and to 64 channels, a flatten of 64x7x7, a linear layer to
512 and a BatchNorm1d. Every activation is a PReLU with one slope per channel. The
exported graph has each convolution's BatchNorm already folded into its bias, and so has
this module; ``fuse()`` folds the final BatchNorm1d into the linear layer.
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

# (in, hidden, out, stride, residual units after it) of each stage's entry bottleneck
_STAGES = ((128, 128, 128, 2, 4), (128, 256, 256, 2, 6), (256, 512, 256, 2, 2))
_HEAD_BN_EPS = 1e-5


class ConvPReLU(nn.Module):
    """Convolution (BatchNorm folded into its bias), then PReLU with a slope per channel."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2,
                              groups=groups)
        self.prelu = nn.PReLU(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.conv(x))


class Bottleneck(nn.Module):
    """1x1 expand + PReLU, 3x3 depthwise (carrying the stride) + PReLU, 1x1 linear
    projection; the input is added back when ``residual``."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, stride: int = 1,
                 residual: bool = False) -> None:
        super().__init__()
        self.expand = ConvPReLU(in_channels, hidden, 1)
        self.depthwise = ConvPReLU(hidden, hidden, 3, stride, groups=hidden)
        self.project = nn.Conv2d(hidden, out_channels, 1)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.residual else out


class MobileFaceNet(nn.Module):
    """The w600k_mbf embedder.

    Input: (N, 3, H, W) float32 **RGB** pixel values in 0..255 of faces aligned to the
    ArcFace 5-point template, (H, W) = ``input_size`` (112, 112 for the published
    weights); normalised inside as ``(x - mean) * scale``.
    Output: (N, embedding_size) float32 embeddings, not normalised to unit length.
    """

    def __init__(self, embedding_size: int = 512, input_size: tuple[int, int] = (112, 112),
                 mean: float = 127.5, scale: float = 1.0 / 127.5) -> None:
        super().__init__()
        if input_size[0] % 16 or input_size[1] % 16:
            raise ModelError(f"MobileFaceNet needs an input size divisible by 16, "
                             f"got {input_size}")
        self.input_size = input_size
        self.stem = ConvPReLU(3, 128, 3, 2)
        self.stem_grouped = ConvPReLU(128, 128, 3, 1, groups=64)
        blocks: list[nn.Module] = []
        for in_channels, hidden, out_channels, stride, repeats in _STAGES:
            blocks.append(Bottleneck(in_channels, hidden, out_channels, stride))
            blocks += [Bottleneck(out_channels, out_channels, out_channels, residual=True)
                       for _ in range(repeats)]
        self.blocks = nn.Sequential(*blocks)
        self.widen = ConvPReLU(256, 512, 1)
        self.narrow = ConvPReLU(512, 64, 1)
        cells = (input_size[0] // 16) * (input_size[1] // 16)
        self.fc = nn.Linear(64 * cells, embedding_size)
        self.features: nn.Module = nn.BatchNorm1d(embedding_size, eps=_HEAD_BN_EPS)
        self.mean, self.scale = float(mean), float(scale)

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> MobileFaceNet:
        """The architecture of a registry entry (embedding size, input size, normalisation)."""
        if spec.embedding_size is None or spec.channel_order != "RGB":
            raise ModelError(f"{spec.name}: MobileFaceNet needs an embedding size and RGB "
                             "input")
        return cls(spec.embedding_size, spec.input_size, spec.mean, spec.scale)

    @staticmethod
    def state_from_file(path: Path, spec: ModelSpec) -> dict[str, torch.Tensor]:
        """The weights of ``spec``'s ONNX file by parameter name."""
        return mobilefacenet_state_dict(path, MobileFaceNet.from_spec(spec))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (3, self.input_size[1], self.input_size[0])
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ModelError(f"MobileFaceNet takes (N, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}")
        x = self.stem_grouped(self.stem((x - self.mean) * self.scale))
        x = self.narrow(self.widen(self.blocks(x)))
        return self.features(self.fc(x.flatten(1)))

    def for_inference(self) -> MobileFaceNet:
        """Fold the final BatchNorm into the linear layer; returns self (eval mode only)."""
        return self.fuse()

    def fuse(self) -> MobileFaceNet:
        if isinstance(self.features, nn.BatchNorm1d):
            fold_batchnorm(self.fc, self.features)
            self.features = nn.Identity()
        return self


def mobilefacenet_state_dict(path: Path, net: MobileFaceNet) -> dict[str, torch.Tensor]:
    """Read the weights of a w600k_mbf ONNX file, keyed by ``net``'s parameter names.

    The exporter numbered the folded convolutions and the PReLU slopes, so they are
    matched by order: the graph's convolutions and PReLUs run in the order this module
    defines them (the shapes are checked when the state is loaded).
    """
    model = load_onnx(path)
    tensors = initializers(model)
    convs = [name for name, module in net.named_modules() if isinstance(module, nn.Conv2d)]
    prelus = [name for name, module in net.named_modules() if isinstance(module, nn.PReLU)]
    conv_nodes = [n for n in model.graph.node if n.op_type == "Conv"]
    prelu_nodes = [n for n in model.graph.node if n.op_type == "PRelu"]
    if len(conv_nodes) != len(convs) or len(prelu_nodes) != len(prelus):
        raise ModelError(f"{path}: {len(conv_nodes)} convolutions and {len(prelu_nodes)} "
                         f"PReLUs, the network has {len(convs)} and {len(prelus)}")
    state: dict[str, torch.Tensor] = {}
    for name, node in zip(convs, conv_nodes):
        state[f"{name}.weight"] = tensors[node.input[1]]
        state[f"{name}.bias"] = tensors[node.input[2]]
    for name, node in zip(prelus, prelu_nodes):
        state[f"{name}.weight"] = tensors[node.input[1]].flatten()
    state["fc.weight"], state["fc.bias"] = tensors["fc.weight"], tensors["fc.bias"]
    for key in ("weight", "bias", "running_mean", "running_var"):
        state[f"features.{key}"] = tensors[f"features.{key}"]
    state["features.num_batches_tracked"] = torch.tensor(0)
    return state
