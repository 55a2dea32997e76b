"""facerec: face detection, alignment, embedding and recognition in PyTorch.

Public names are imported on first use, so ``import facerec`` (and the command line's
start-up) does not pay for torch, OpenCV or FAISS until they are needed. Importing it
changes no process-wide setting; the performance levers the commands use are opt-in
(``facerec.levers``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_ERRORS = ("CalibrationError", "DatabaseDamaged", "DatabaseError", "DeviceError",
           "EncodingsError", "FacerecError", "ImageError", "InvalidName", "LibraryNotFound",
           "ModelError",
           "NoFaceError", "OutputError", "PersonExists", "PersonNotFound", "QueueFull",
           "ReadOnlyDatabase", "SourceError", "Unavailable", "WorkerLost")

_EXPORTS = {
    "FaceAnalyzer": "analyzer", "cosine_similarity": "analyzer",
    "DetectorConfig": "detector", "select_device": "device",
    "load_image": "image", "Detection": "types", "Face": "types",
    "Recognizer": "recognizer", "FaceDB": "recognizer", "Gallery": "db.gallery",
    "verify": "verification", "Library": "library",
    "Match": "results", "Candidate": "results", "Verification": "results",
    "EnrollReport": "results", "Skip": "results", "Threshold": "results",
    "LibraryPhoto": "results", "ScanReport": "results",
    **{name: "errors" for name in _ERRORS},
}

__all__ = [
    "CalibrationError", "Candidate", "DatabaseDamaged", "DatabaseError", "Detection",
    "DetectorConfig", "DeviceError", "EncodingsError", "EnrollReport", "Face", "FaceAnalyzer",
    "FaceDB", "FacerecError", "Gallery", "ImageError", "InvalidName", "Library",
    "LibraryNotFound", "LibraryPhoto", "Match", "ModelError", "NoFaceError", "OutputError",
    "PersonExists", "PersonNotFound", "QueueFull", "ReadOnlyDatabase", "Recognizer",
    "ScanReport", "Skip", "SourceError", "Threshold", "Unavailable", "Verification", "WorkerLost",
    "cosine_similarity", "load_image", "select_device", "verify",
]

if TYPE_CHECKING:
    from .analyzer import FaceAnalyzer, cosine_similarity
    from .db.gallery import Gallery
    from .detector import DetectorConfig
    from .device import select_device
    from .errors import (
        CalibrationError,
        DatabaseDamaged,
        DatabaseError,
        DeviceError,
        EncodingsError,
        FacerecError,
        ImageError,
        InvalidName,
        LibraryNotFound,
        ModelError,
        NoFaceError,
        OutputError,
        PersonExists,
        PersonNotFound,
        QueueFull,
        ReadOnlyDatabase,
        SourceError,
        Unavailable,
        WorkerLost,
    )
    from .image import load_image
    from .library import Library
    from .recognizer import FaceDB, Recognizer
    from .results import (
        Candidate,
        EnrollReport,
        LibraryPhoto,
        Match,
        ScanReport,
        Skip,
        Threshold,
        Verification,
    )
    from .types import Detection, Face
    from .verification import verify


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'facerec' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
