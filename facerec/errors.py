"""Typed errors. The library raises these; the command line turns them into one line."""

from __future__ import annotations

from pathlib import Path


class FacerecError(Exception):
    """Base class of every error facerec raises on purpose."""


class ImageError(FacerecError):
    """An input could not be read as an image.

    Attributes:
        source: what was given (a path, or a short description such as ``<bytes>``).
        reason: why it could not be read, in a few words.
    """

    def __init__(self, source: str | Path, reason: str) -> None:
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


class ModelError(FacerecError):
    """A model's weights are missing, could not be fetched, or failed verification."""


class DeviceError(FacerecError):
    """The requested compute device is not available."""


class NoFaceError(FacerecError):
    """A photo that had to show a face shows none."""
