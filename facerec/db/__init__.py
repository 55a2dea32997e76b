"""The face database: SQLite for people and faces, FAISS for search."""

from .facedb import FaceDB, default_db_path
from .identify import UNKNOWN, Candidate, Match
from .store import DatabaseError

__all__ = ["Candidate", "DatabaseError", "FaceDB", "Match", "UNKNOWN", "default_db_path"]
