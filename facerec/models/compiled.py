"""Optional compilation of a network with ``torch.compile`` (inductor, weights frozen).

Compiling specialises the network to each input shape it meets: the first call at a shape
takes seconds (about 15 s for YuNet at 640x480 on a laptop CPU), later calls at that shape
run faster (YuNet: about a quarter less time on that CPU). It pays off where the shape
repeats, as with a camera's frames. Inductor needs a C++ compiler on the CPU; where
compiling fails, the network runs as it is from then on, with a warning. Any other error
of a call (out of memory, a bad input) is the caller's: it is raised as it is, and the
next call is compiled as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

log = logging.getLogger(__name__)


class CompiledNetwork:
    """Calls ``net`` through ``torch.compile``, or plainly once compiling has failed.

    Args:
        net: the network.
        name: how warnings name it (``"the detector"``).
        backend: the ``torch.compile`` backend (inductor, with frozen weights, unless
            another is given).
    """

    def __init__(self, net: Callable[[torch.Tensor], Any], name: str,
                 backend: str | Callable[..., Any] = "inductor") -> None:
        self.net = net
        self.name = name
        options: dict[str, str | int | bool | Callable[..., Any]] | None = (
            {"freezing": True} if backend == "inductor" else None)
        self._compiled: Any = torch.compile(net, dynamic=False, backend=backend,
                                            options=options)

    @property
    def compiling(self) -> bool:
        """False once compiling has failed and the network runs uncompiled."""
        return self._compiled is not None

    def __call__(self, x: torch.Tensor) -> Any:
        if self._compiled is not None:
            try:
                return self._compiled(x)
            except Exception as exc:
                if not is_compile_error(exc):
                    raise
                log.warning("could not compile %s (%s); running it uncompiled",
                            self.name, str(exc).splitlines()[0] if str(exc) else type(exc))
                self._compiled = None
        return self.net(x)


def is_compile_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from compiling (tracing, lowering, the C++ compiler) rather
    than from running the network."""
    from torch._dynamo.exc import TorchDynamoException
    from torch._inductor.exc import InductorError
    return isinstance(exc, (TorchDynamoException, InductorError))
