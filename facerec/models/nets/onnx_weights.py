"""Reading the weights (initializers) of an ONNX file into torch tensors.

Only the stored tensors are read; the graph is never executed or converted. The ``onnx``
package is imported when a file is read, not before: the networks are built from their
prepared safetensors copies on every run but the first, and a command that only uses
them need not pay for the import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import onnx


def load_onnx(path: Path) -> onnx.ModelProto:
    """Parse an ONNX file (a protobuf; nothing in it is executed)."""
    import onnx

    return onnx.load(str(path))


def initializers(model: onnx.ModelProto) -> dict[str, torch.Tensor]:
    """Every initializer of the graph, by name, as float32 CPU tensors."""
    from onnx import numpy_helper

    return {
        init.name: torch.from_numpy(numpy_helper.to_array(init).copy()).float()
        for init in model.graph.initializer
    }
