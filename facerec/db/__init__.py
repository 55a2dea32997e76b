"""The face database's storage: SQLite for people and faces, FAISS for search
(``Gallery``). Nothing here reads photos or runs networks, and nothing here imports from
the rest of the package but its plain types (errors, names, results, rows)."""

from ..errors import (
           DatabaseDamaged,
           DatabaseError,
           PersonExists,
           PersonNotFound,
           ReadOnlyDatabase,
)
from ..names import UNKNOWN
from ..results import Candidate, EnrollReport, Match, Skip
from .gallery import Gallery, default_db_path
from .store import FaceRecord

__all__ = ["UNKNOWN", "Candidate", "DatabaseDamaged", "DatabaseError",
           "EnrollReport", "FaceRecord", "Gallery", "Match", "PersonExists",
           "PersonNotFound", "ReadOnlyDatabase", "Skip", "default_db_path"]
