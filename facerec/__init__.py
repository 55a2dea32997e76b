"""facerec: face detection, alignment, embedding and recognition in PyTorch.

Public names are imported on first use, so ``import facerec`` (and the command line's
start-up) does not pay for torch, OpenCV or FAISS until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "FaceAnalyzer": "analyzer", "cosine_similarity": "analyzer",
    "DetectorConfig": "detector", "select_device": "device",
    "FacerecError": "errors", "ImageError": "errors", "ModelError": "errors",
    "DeviceError": "errors", "load_image": "image", "Detection": "types", "Face": "types",
}

__all__ = [
    "Detection", "DetectorConfig", "DeviceError", "Face", "FaceAnalyzer", "FacerecError",
    "ImageError", "ModelError", "cosine_similarity", "load_image", "select_device",
]

if TYPE_CHECKING:
    from .analyzer import FaceAnalyzer, cosine_similarity
    from .detector import DetectorConfig
    from .device import select_device
    from .errors import DeviceError, FacerecError, ImageError, ModelError
    from .image import load_image
    from .types import Detection, Face


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'facerec' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
