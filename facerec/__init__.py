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

_ERRORS = ("CalibrationError", "DatabaseDamaged", "DatabaseError", "DatabaseUnavailable",
           "DeviceError",
           "EncodingsError", "FacerecError", "ImageError", "InvalidName", "LibraryNotFound",
           "ModelError",
           "NoFaceError", "OutputError", "PersonExists", "PersonNotFound", "QueueFull",
           "ReadOnlyDatabase", "SourceError", "Unavailable", "WorkerLost")

_EXPORTS = {
    "FaceAnalyzer": "faces.analyzer", "cosine_similarity": "faces.analyzer",
    "DetectorConfig": "faces.detector", "select_device": "models.device",
    "load_image": "photos.image", "Detection": "types", "Face": "types",
    "Recognizer": "recognition.recognizer", "FaceDB": "recognition.recognizer",
    "Gallery": "storage.gallery", "verify": "recognition.verification", "Library": "library",
    "Match": "results", "Candidate": "results", "Verification": "results",
    "EnrollReport": "results", "Skip": "results", "Threshold": "results",
    "LibraryPhoto": "results", "ScanReport": "results",
    **{name: "errors" for name in _ERRORS},
}

__all__ = [
    "CalibrationError", "Candidate", "DatabaseDamaged", "DatabaseError",
    "DatabaseUnavailable", "Detection",
    "DetectorConfig", "DeviceError", "EncodingsError", "EnrollReport", "Face", "FaceAnalyzer",
    "FaceDB", "FacerecError", "Gallery", "ImageError", "InvalidName", "Library",
    "LibraryNotFound", "LibraryPhoto", "Match", "ModelError", "NoFaceError", "OutputError",
    "PersonExists", "PersonNotFound", "QueueFull", "ReadOnlyDatabase", "Recognizer",
    "ScanReport", "Skip", "SourceError", "Threshold", "Unavailable", "Verification", "WorkerLost",
    "cosine_similarity", "load_image", "select_device", "verify",
]

if TYPE_CHECKING:
    from facerec.errors import (
        CalibrationError,
        DatabaseDamaged,
        DatabaseError,
        DatabaseUnavailable,
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
    from facerec.faces.analyzer import FaceAnalyzer, cosine_similarity
    from facerec.faces.detector import DetectorConfig
    from facerec.library import Library
    from facerec.models.device import select_device
    from facerec.photos.image import load_image
    from facerec.recognition.recognizer import FaceDB, Recognizer
    from facerec.recognition.verification import verify
    from facerec.results import (
        Candidate,
        EnrollReport,
        LibraryPhoto,
        Match,
        ScanReport,
        Skip,
        Threshold,
        Verification,
    )
    from facerec.storage.gallery import Gallery
    from facerec.types import Detection, Face


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'facerec' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
