"""``FaceDB``: the name the face database's Python API had before storage and recognition
were split. It opens a ``facerec.recognizer.Recognizer`` (``enroll``, ``identify``,
``verify``, ``calibrate``), whose ``gallery`` manages the people."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .gallery import default_db_path

if TYPE_CHECKING:
    from ..analyzer import FaceAnalyzer
    from ..recognizer import Recognizer

__all__ = ["FaceDB", "default_db_path"]


def FaceDB(path: str | Path, analyzer: FaceAnalyzer | None = None,  # noqa: N802
           create: bool = True) -> Recognizer:
    """The recognizer of the database in folder ``path`` (``Recognizer.open``)."""
    from ..recognizer import Recognizer

    return Recognizer.open(path, analyzer, create)
