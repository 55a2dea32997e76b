"""Optional compilation: a compiler failure switches it off, a failure of the call does not."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from facerec.models.compiled import CompiledNetwork


class RunsOutOfMemory(nn.Module):
    """A network whose calls fail at run time, as a GPU out of memory does, when told to."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 2)
        self.out_of_memory = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.out_of_memory:
            raise torch.OutOfMemoryError("out of memory")
        return self.layer(x)


def test_an_error_of_the_call_is_raised_and_compiling_goes_on():
    net = RunsOutOfMemory()
    compiled = CompiledNetwork(net, "the test network", backend="eager")
    assert compiled(torch.zeros(1, 4)).shape == (1, 2)
    net.out_of_memory = True
    with pytest.raises(torch.OutOfMemoryError):
        compiled(torch.zeros(1, 4))
    assert compiled.compiling
    net.out_of_memory = False
    assert compiled(torch.zeros(1, 4)).shape == (1, 2) and compiled.compiling


def test_a_compiler_failure_runs_the_network_uncompiled(caplog):
    def no_compiler(graph, inputs):
        raise RuntimeError("no C++ compiler")

    net = nn.Sequential(nn.Linear(4, 2))
    compiled = CompiledNetwork(net, "the test network", backend=no_compiler)
    out = compiled(torch.ones(1, 4))
    assert torch.equal(out, net(torch.ones(1, 4)))
    assert not compiled.compiling and "could not compile the test network" in caplog.text
