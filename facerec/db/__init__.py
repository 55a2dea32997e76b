"""The face database: SQLite for people and faces, FAISS for search."""

from .enroll import AnalyzedPhoto, EnrollReport, Skip
from .facedb import FaceDB, default_db_path
from .identify import UNKNOWN, Candidate, Match
from .store import DatabaseError, FaceRecord, PersonExists, PersonNotFound

__all__ = ["UNKNOWN", "AnalyzedPhoto", "Candidate", "DatabaseError", "EnrollReport", "FaceDB",
           "FaceRecord", "Match", "PersonExists", "PersonNotFound", "Skip", "default_db_path"]
