"""The photo library: scan a user's photos once, then ask who is in which photo (see
``library.Library``)."""

from .library import Library, Together, UnknownFace
from .matching import CatchUp

__all__ = ["CatchUp", "Library", "Together", "UnknownFace"]
