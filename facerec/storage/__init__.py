"""Everything facerec keeps on disk about faces: the face database (SQLite for people and
faces, FAISS for search: ``Gallery``), the photo library's database and vectors
(``library_store``, ``library_vectors``), erasure, checks and repair. Nothing here reads
photos or runs networks.

May import: formats.files, and the vocabulary at the package's root.
"""

from facerec.errors import (
           DatabaseDamaged,
           DatabaseError,
           PersonExists,
           PersonNotFound,
           ReadOnlyDatabase,
)
from facerec.names import UNKNOWN
from facerec.results import Candidate, EnrollReport, Match, Skip
from facerec.storage.gallery import Gallery, default_db_path
from facerec.storage.store import FaceRecord

__all__ = ["UNKNOWN", "Candidate", "DatabaseDamaged", "DatabaseError",
           "EnrollReport", "FaceRecord", "Gallery", "Match", "PersonExists",
           "PersonNotFound", "ReadOnlyDatabase", "Skip", "default_db_path"]
