"""Pointwise (1x1) convolutions run by oneDNN at every thread count.

PyTorch runs a float32 1x1 convolution of fewer than 16 images through oneDNN when it
has several threads, and through its own im2col-and-matrix-multiply path when it has one
(its heuristic has that path the faster single-threaded). For the pointwise layers of
the mobile networks here (YuNet and SFace pair each depthwise 3x3 with one, over 16 to
128 channels) oneDNN's 1x1 kernel is the faster on one thread as well, and the other
path copies channels-last maps into another layout and back. Measured on a 2-core x86
CPU at one thread: YuNet 1.3-1.4x as fast, SFace 1.4-1.8x; at two threads nothing
changes, since oneDNN already ran them.

One thread is what ``facerec.levers.threads`` gives the networks when other processes hold the
other cores, so this is the path that runs when time is scarcest. With every thread count
on the same library, a face's embedding barely depends on how busy the machine is: the
same to the last bit on some processors, within 1e-7 on others where oneDNN blocks the
work differently by thread count (it moved by about 2e-6 between one thread and two).
"""

from __future__ import annotations

from typing import TypeVar, cast

import torch
from torch import nn

Net = TypeVar("Net", bound=nn.Module)


class PointwiseConv2d(nn.Conv2d):
    """A 1x1 convolution (stride 1, no padding or dilation, one group) that runs float32
    CPU inputs through oneDNN (``torch.mkldnn_convolution``) whatever the thread count;
    anything else (another device or type, a build without oneDNN or with it turned off
    through ``torch.backends.mkldnn``, ``torch.compile`` tracing it) as ``nn.Conv2d``
    runs it. Same parameters, same output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.device.type == "cpu" and x.dtype == torch.float32
                and self.weight.dtype == torch.float32 and _onednn_on()
                and not torch.compiler.is_compiling()):
            padding = cast(tuple[int, int], self.padding)  # (0, 0): made so by _as_pointwise
            return torch.mkldnn_convolution(x, self.weight, self.bias, padding,
                                            self.stride, self.dilation, self.groups)
        return super().forward(x)


def is_pointwise(conv: nn.Conv2d) -> bool:
    """Whether ``conv`` is a plain 1x1 convolution: stride 1, no padding or dilation, one
    group, zero padding mode."""
    return (conv.kernel_size == (1, 1) and conv.stride == (1, 1) and conv.groups == 1
            and conv.dilation == (1, 1) and conv.padding in ((0, 0), "valid")
            and conv.padding_mode == "zeros")


def onednn_pointwise(net: Net) -> Net:
    """Swap every plain pointwise ``nn.Conv2d`` of ``net`` for a ``PointwiseConv2d``
    holding the same parameters (no copy); returns ``net``."""
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Conv2d and is_pointwise(child):
                setattr(parent, name, _as_pointwise(child))
    return net


def _as_pointwise(conv: nn.Conv2d) -> PointwiseConv2d:
    pointwise = PointwiseConv2d(conv.in_channels, conv.out_channels, 1,
                                bias=conv.bias is not None, device="meta")
    pointwise.weight = conv.weight
    pointwise.bias = conv.bias
    return pointwise.train(conv.training)


def _onednn_on() -> bool:
    """Whether this build has oneDNN and it has not been turned off
    (``torch.backends.mkldnn.flags(enabled=False)``)."""
    return torch.backends.mkldnn.is_available() and bool(torch.backends.mkldnn.enabled)
