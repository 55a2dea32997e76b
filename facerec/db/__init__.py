"""The face database: SQLite for people and faces, FAISS for search (``Gallery``), and the
``FaceDB`` name that opens a ``Recognizer`` over one."""

from ..errors import (
           DatabaseDamaged,
           DatabaseError,
           PersonExists,
           PersonNotFound,
           ReadOnlyDatabase,
)
from ..names import UNKNOWN
from ..results import Candidate, EnrollReport, Match, Skip
from .enroll import AnalyzedPhoto
from .facedb import FaceDB
from .gallery import Gallery, default_db_path
from .store import FaceRecord

__all__ = ["UNKNOWN", "AnalyzedPhoto", "Candidate", "DatabaseDamaged", "DatabaseError",
           "EnrollReport", "FaceDB", "FaceRecord", "Gallery", "Match", "PersonExists",
           "PersonNotFound", "ReadOnlyDatabase", "Skip", "default_db_path"]
