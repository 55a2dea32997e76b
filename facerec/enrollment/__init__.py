"""Enrollment: photos of known people into a face database (see ``enrollment``)."""

from .chosen import AnalyzedPhoto, choose_face, face_quality
from .enrollment import ENROLL_BATCH, Enrollment, remove_missing, turned_note
from .mislabels import suspicious_faces
from .plans import Incoming, file_digest, plan_folder, plan_named, source_key, upload_source
from .triage import triage

__all__ = ["ENROLL_BATCH", "AnalyzedPhoto", "Enrollment", "Incoming", "choose_face",
           "face_quality", "file_digest", "plan_folder", "plan_named", "remove_missing",
           "source_key", "suspicious_faces", "triage", "turned_note", "upload_source"]
