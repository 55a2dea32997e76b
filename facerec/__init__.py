"""facerec: face detection, alignment, embedding and recognition in PyTorch."""

from .analyzer import FaceAnalyzer, cosine_similarity
from .detector import DetectorConfig
from .device import select_device
from .errors import DeviceError, FacerecError, ImageError, ModelError
from .image import load_image
from .types import Detection, Face

__version__ = "0.1.0"

__all__ = [
    "Detection", "DetectorConfig", "DeviceError", "Face", "FaceAnalyzer", "FacerecError",
    "ImageError", "ModelError", "cosine_similarity", "load_image", "select_device",
]
