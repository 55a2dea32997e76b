"""Every error facerec raises on purpose, under one base class.

The library raises these; the command line turns each into one line on stderr and an exit
code, and the HTTP service into a JSON error with a status (``facerec.server.app``).
"""

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
    """A model's weights are missing, could not be fetched, failed verification, or the
    model asked for does not exist or does not fit the role asked of it."""


class DeviceError(FacerecError):
    """The requested compute device is not available."""


class NoFaceError(FacerecError):
    """A photo that had to show a face shows none."""


class OutputError(FacerecError):
    """A place results should be written to cannot take them."""


class SourceError(FacerecError):
    """A camera, file or stream could not be opened or stopped delivering frames."""


class Unavailable(FacerecError):
    """The networks cannot take or finish this request now; try again shortly."""


class QueueFull(Unavailable):
    """Too many images are already waiting for the networks; try again shortly."""


class WorkerLost(Unavailable):
    """The networks did not answer a request: their worker stopped, or did not finish
    within the deadline; a new worker takes the requests that follow."""


class InvalidName(FacerecError, ValueError):
    """A person's name that facerec does not accept."""


class CalibrationError(FacerecError, ValueError):
    """A threshold cannot be measured from what is enrolled, or was asked for wrongly."""


class EncodingsError(FacerecError):
    """A file of face encodings that cannot be read as a whole (a pickle, an unknown
    format, names and encodings that do not pair up)."""


class DatabaseError(FacerecError):
    """The database cannot be opened or used as asked."""


class DatabaseUnavailable(DatabaseError):
    """The database's server cannot be reached now (restarting, or the network); the
    request can be tried again shortly."""


class DatabaseDamaged(DatabaseError):
    """The database file is damaged on disk; writes are refused until it is repaired."""


class ReadOnlyDatabase(DatabaseError):
    """The database can be read but not written (a read-only folder or medium)."""


class LibraryNotFound(DatabaseError):
    """The database folder has no photo library: no photo was scanned into it yet."""


class PersonNotFound(DatabaseError):
    """No person has the given name."""


class PersonExists(DatabaseError):
    """The name is already taken by another person."""


__all__ = ["CalibrationError", "DatabaseDamaged", "DatabaseError", "DeviceError",
           "FacerecError", "ImageError", "InvalidName", "ModelError", "NoFaceError",
           "OutputError", "PersonExists", "PersonNotFound", "QueueFull", "ReadOnlyDatabase",
           "SourceError", "Unavailable", "WorkerLost"]
