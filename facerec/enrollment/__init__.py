"""Putting faces into a face database: from folders of known people (``enrollment``,
``plans``, ``triage``, ``enrolled_face``, ``mislabels``), from face_recognition
encodings (``from_encodings``), and again with another model (``reindex``).

May import: faces, formats, library, models, photos, storage.
"""

from facerec.enrollment.enrolled_face import AnalyzedPhoto, choose_face, face_quality
from facerec.enrollment.enrollment import ENROLL_BATCH, Enrollment, remove_missing, turned_note
from facerec.enrollment.mislabels import suspicious_faces
from facerec.enrollment.plans import (
           Incoming,
           file_digest,
           plan_folder,
           plan_named,
           source_key,
           upload_source,
)
from facerec.enrollment.triage import triage

__all__ = ["ENROLL_BATCH", "AnalyzedPhoto", "Enrollment", "Incoming", "choose_face",
           "face_quality", "file_digest", "plan_folder", "plan_named", "remove_missing",
           "source_key", "suspicious_faces", "triage", "turned_note", "upload_source"]
