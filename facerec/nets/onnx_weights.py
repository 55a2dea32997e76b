"""Reading the weights (initializers) of an ONNX file into torch tensors.

Only the stored tensors are read; the graph is never executed or converted.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from ..errors import ModelError


def load_onnx(path: Path) -> onnx.ModelProto:
    """Parse an ONNX file (a protobuf; nothing in it is executed)."""
    return onnx.load(str(path))


def initializers(model: onnx.ModelProto) -> dict[str, torch.Tensor]:
    """Every initializer of the graph, by name, as float32 CPU tensors."""
    return {
        init.name: torch.from_numpy(numpy_helper.to_array(init).copy()).float()
        for init in model.graph.initializer
    }


def check_and_load(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load ``state`` into ``module`` strictly, with shape errors that name the tensor."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ModelError(f"weights do not fit {type(module).__name__}: "
                         f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    for key, value in state.items():
        if own[key].shape != value.shape:
            raise ModelError(f"{key}: shape {tuple(value.shape)} in file, "
                             f"{tuple(own[key].shape)} in {type(module).__name__}")
    module.load_state_dict(state, strict=True)
