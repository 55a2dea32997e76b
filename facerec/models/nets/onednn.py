"""Convolutions run by oneDNN on the CPU with their weights laid out once, and a ReLU after
one fused into the same call.

The networks here are mobile ones: many small convolutions (YuNet has 35, SFace 27),
where a layer's fixed costs weigh as much as its arithmetic. Through ``nn.Conv2d`` each
call pays two of them: oneDNN reorders the weights into its blocked layout (every call,
for the same weights), and a ReLU after the layer is a pass of its own over the map.
Here the weights are reordered the first time a layer meets a batch size and kept in that
layout (oneDNN chooses the layout by the number of images), and a layer that ``relu``
asks for applies it as oneDNN's post-op while the output is still in cache: the same
values (the same kernels run; the ReLU is exact), in fewer passes. Measured on a 2-core
x86 CPU, YuNet alone: 3.4-3.8 against 4.2-4.8 ms at 256 x 256, 7.6-8.2 against 9.2-9.6 ms
at 640 x 480 (the reorders are a fixed cost per layer, so large inputs gain little).

Every thread count takes the same library: PyTorch runs a float32 1x1 convolution of fewer
than 16 images through its own im2col-and-matrix-multiply path when it has one thread, and
oneDNN's 1x1 kernel is the faster there too (YuNet 1.3-1.4x, SFace 1.4-1.8x at one thread).
One thread is what ``facerec.levers.threads`` gives the networks when other processes hold
the other cores, so this is the path that runs when time is scarcest; and a face's
embedding barely depends on how busy the machine is: the same to the last bit on some
processors, within 1e-7 on others where oneDNN blocks the work differently by thread count.

Anything else (another device or type, gradients to record, a build without oneDNN or
with it turned off through ``torch.backends.mkldnn``, ``torch.compile`` tracing the
network, a PyTorch without the fused operator, which is internal to it) runs as
``nn.Conv2d`` runs it, then the ReLU.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TypeVar, cast

import torch
import torch.nn.functional as F
from torch import nn

Net = TypeVar("Net", bound=nn.Module)


def _operator(name: str) -> Callable[..., torch.Tensor] | None:
    """PyTorch's internal oneDNN operator ``name`` (what ``torch.compile`` itself emits
    for a CPU convolution), or None in a PyTorch without it."""
    try:
        return cast(Callable[..., torch.Tensor], getattr(torch.ops.mkldnn, name))
    except (AttributeError, RuntimeError):
        return None


_CONVOLVE = _operator("_convolution_pointwise")
_LAY_OUT = _operator("_reorder_convolution_weight")
LAYOUTS_KEPT = 4
"""Batch sizes a layer keeps its weights laid out for (a batch job meets a few: one image,
a full batch, the last one's remainder)."""
_LAYING_OUT = threading.Lock()
_LAYOUTS: weakref.WeakKeyDictionary[OneDNNConv2d, tuple[tuple[int, int], dict[int, torch.Tensor]]] \
    = weakref.WeakKeyDictionary()
"""Each layer's laid-out weights (for the weights they were made from), kept outside the
layer: oneDNN's tensors cannot be copied or pickled, and a copied layer lays its own out."""


class OneDNNConv2d(nn.Conv2d):
    """``nn.Conv2d`` (zero padding), optionally followed by a ReLU, that runs float32 CPU
    inputs through oneDNN with its weights laid out once for it (see the module
    docstring). Same parameters, same output as the convolution then ``F.relu``.

    oneDNN picks the layout by the number of images (one image or a batch take different
    ones, and weights laid out for the other are laid out again inside every call: float
    SFace took 50 ms a face given one crop, 12 laid out for one), not by their size (YuNet
    with weights laid out at 640 x 480 ran as fast as with its own layout at every size
    from 64 x 64 to 1280 x 1280), so a layout is made for each batch size the layer
    meets, the latest ``LAYOUTS_KEPT`` kept, and all made again when the weights change
    (another tensor, or the same one written to).
    """

    relu: bool = False
    """Whether a ReLU follows the convolution."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        convolve = _CONVOLVE
        if convolve is not None and _LAY_OUT is not None and self._runs_on_onednn(x):
            padding = cast(tuple[int, int], self.padding)
            return convolve(x, self._laid_out(x), self.bias, list(padding),
                            list(self.stride), list(self.dilation), self.groups,
                            "relu" if self.relu else "none", [], "")
        y = super().forward(x)
        return F.relu(y) if self.relu else y

    def _runs_on_onednn(self, x: torch.Tensor) -> bool:
        recording = torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)
        return (x.device.type == "cpu" and not recording
                and x.dtype == torch.float32 and self.weight.dtype == torch.float32
                and _onednn_on() and not torch.compiler.is_compiling())

    def _laid_out(self, x: torch.Tensor) -> torch.Tensor:
        """The weights in oneDNN's layout for batches of ``x``'s size."""
        weight = self.weight
        # an inference tensor counts no writes (and takes none outside inference mode)
        weights = (weight.data_ptr(), 0 if weight.is_inference() else weight._version)
        batch = x.shape[0]
        with _LAYING_OUT:
            made_for, layouts = _LAYOUTS.get(self, (None, {}))
            if made_for != weights:
                layouts = {}
            laid_out = layouts.pop(batch, None)
            if laid_out is None:
                padding = cast(tuple[int, int], self.padding)
                assert _LAY_OUT is not None  # checked by forward
                laid_out = _LAY_OUT(
                    weight.detach(), list(padding), list(self.stride),
                    list(self.dilation), self.groups, list(x.shape))
                while len(layouts) >= LAYOUTS_KEPT:
                    del layouts[next(iter(layouts))]  # the least recently used
            layouts[batch] = laid_out
            _LAYOUTS[self] = (weights, layouts)
        return laid_out


def with_relu(conv: nn.Conv2d) -> OneDNNConv2d:
    """``conv`` followed by a ReLU, as one ``OneDNNConv2d`` holding the same parameters."""
    fused = onednn_conv(conv)
    fused.relu = True
    return fused


def onednn_conv(conv: nn.Conv2d) -> OneDNNConv2d:
    """``conv`` as a ``OneDNNConv2d`` holding the same parameters (no copy)."""
    if type(conv) is OneDNNConv2d:
        return conv
    if not _zero_padded(conv):
        raise ValueError("OneDNNConv2d takes numeric zero padding")
    made = OneDNNConv2d(conv.in_channels, conv.out_channels,
                        cast(tuple[int, int], conv.kernel_size),
                        cast(tuple[int, int], conv.stride), cast(tuple[int, int], conv.padding),
                        cast(tuple[int, int], conv.dilation), conv.groups,
                        bias=conv.bias is not None, device="meta")
    made.weight = conv.weight
    made.bias = conv.bias
    return made.train(conv.training)


def onednn_convolutions(net: Net) -> Net:
    """Swap every plain ``nn.Conv2d`` of ``net`` with numeric zero padding for a
    ``OneDNNConv2d`` holding the same parameters; returns ``net``."""
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Conv2d and _zero_padded(child):
                setattr(parent, name, onednn_conv(child))
    return net


def _zero_padded(conv: nn.Conv2d) -> bool:
    """Whether ``conv`` pads with zeros by a number of pixels (not "same" or "valid")."""
    return conv.padding_mode == "zeros" and not isinstance(conv.padding, str)


def _onednn_on() -> bool:
    """Whether this build has oneDNN and it has not been turned off
    (``torch.backends.mkldnn.flags(enabled=False)``)."""
    return torch.backends.mkldnn.is_available() and bool(torch.backends.mkldnn.enabled)
