"""The face database: SQLite for people and faces, FAISS for search."""

from .facedb import FaceDB, default_db_path
from .identify import UNKNOWN, Candidate, Match
from .enroll import AnalyzedPhoto, EnrollReport, Skip
from .store import DatabaseError, FaceRecord, PersonExists, PersonNotFound

__all__ = ["AnalyzedPhoto", "Candidate", "DatabaseError", "EnrollReport", "FaceDB", "FaceRecord",
           "Match", "PersonExists", "PersonNotFound", "Skip", "UNKNOWN", "default_db_path"]
