"""Optional compilation of a network with ``torch.compile`` (inductor, weights frozen).

Compiling specialises the network to each input shape it meets: the first call at a shape
takes seconds (about 15 s for YuNet at 640x480 on a laptop CPU), later calls at that shape
run faster (YuNet: about a quarter less time on that CPU). It pays off where the shape
repeats, as with a camera's frames. Inductor needs a C++ compiler on the CPU; where
compiling fails, the network runs as it is, with a warning.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)


class CompiledNetwork:
    """Calls ``net`` through ``torch.compile``, or plainly once compiling has failed."""

    def __init__(self, net: nn.Module, name: str) -> None:
        self.net = net
        self.name = name
        self._compiled: Any = torch.compile(net, dynamic=False, options={"freezing": True})

    def __call__(self, x: torch.Tensor) -> Any:
        if self._compiled is not None:
            try:
                return self._compiled(x)
            except Exception as exc:  # any compiler failure: run uncompiled from now on
                log.warning("could not compile %s (%s); running it uncompiled",
                            self.name, str(exc).splitlines()[0] if str(exc) else type(exc))
                self._compiled = None
        return self.net(x)
