"""Non-maximum suppression from torchvision's compiled operator, without importing the
rest of torchvision.

``torchvision.ops`` imports torchvision's whole package (datasets, models, transforms,
io) for its NMS; that import is about a second of a cold ``facerec identify`` on a laptop
CPU. The operator itself is in torchvision's extension library: loading that library
registers ``torch.ops.torchvision.nms``, the function ``torchvision.ops.nms`` calls.
Where the library is not found (another torchvision layout), ``torchvision.ops`` is
imported as usual, so the answers are the same either way.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from pathlib import Path

import torch

EXTENSIONS = ("_C_stable", "_C")
"""torchvision's extension library, by the names it has had."""

Nms = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


@functools.cache
def _operator() -> Nms:
    spec = importlib.util.find_spec("torchvision")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for name in EXTENSIONS:
            for library in sorted(Path(folder).glob(f"{name}.*")):
                if library.suffix not in (".so", ".pyd", ".dylib"):
                    continue
                try:
                    torch.ops.load_library(str(library))
                    return torch.ops.torchvision.nms
                except (OSError, RuntimeError, AttributeError):
                    continue
    from torchvision.ops import nms as imported

    return imported


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the (N, 4) x1, y1, x2, y2 ``boxes`` kept, best ``scores`` first: each box
    overlapping a better one by more than ``iou_threshold`` (IoU) is dropped."""
    return _operator()(boxes, scores, iou_threshold)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """``nms`` within each group (``groups``: (N,) int): boxes of different groups never
    suppress each other. Each group's boxes are moved apart by more than the largest
    coordinate first, as ``torchvision.ops.batched_nms`` does."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    offsets = groups.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)
