"""Reading the weights (initializers) of an ONNX file into torch tensors.

Only the stored tensors are read; the graph is never executed or converted.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import torch
from onnx import numpy_helper


def load_onnx(path: Path) -> onnx.ModelProto:
    """Parse an ONNX file (a protobuf; nothing in it is executed)."""
    return onnx.load(str(path))


def initializers(model: onnx.ModelProto) -> dict[str, torch.Tensor]:
    """Every initializer of the graph, by name, as float32 CPU tensors."""
    return {
        init.name: torch.from_numpy(numpy_helper.to_array(init).copy()).float()
        for init in model.graph.initializer
    }
