"""BatchNorm folded into the layer before it, in place, for inference."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights


def fold_batchnorm(layer: nn.Conv2d | nn.Linear, bn: nn.BatchNorm1d | nn.BatchNorm2d) -> None:
    """Give ``layer`` the weights and bias of ``bn(layer(x))`` (``bn`` in eval mode, its
    running statistics): the arithmetic of ``torch.nn.utils.fusion.fuse_*_bn_eval``
    without their copy of the layer, which took most of an embedder's fusing time
    (SFace: 38 against 15 ms)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("a BatchNorm without running statistics cannot be folded")
    fuse = fuse_conv_bn_weights if isinstance(layer, nn.Conv2d) else fuse_linear_bn_weights
    layer.weight, layer.bias = fuse(layer.weight, layer.bias, bn.running_mean,
                                    bn.running_var, bn.eps, bn.weight, bn.bias)
