"""Putting ``face_recognition`` encodings into a face database, no photos needed.

The encodings are dlib's ResNet descriptors, so they go into a database of the
``dlib-resnet-v1`` model (the port of the same network) and mix with faces facerec embeds
itself. Each is stored under the source ``FILE#ROW`` (importing the same file again
replaces its faces, it does not double them), without a box or landmarks, since none
were stored with it.

``face_recognition`` calls two faces the same person when their descriptors are less than
a *tolerance* apart (Euclidean distance, 0.6 by default). facerec compares unit vectors
by cosine similarity; for descriptors of length ``n``, ``|a - b|^2 = 2 n^2 (1 - cos)``,
so a tolerance ``t`` is the similarity ``1 - t^2 / (2 n^2)`` at the median length of the
imported descriptors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facerec.formats.encodings_file import Encodings
from facerec.models.registry import DLIB_RESNET
from facerec.results import Skip
from facerec.storage.gallery import Gallery
from facerec.storage.rows import NewFace
from facerec.types import Detection

FACE_RECOGNITION_TOLERANCE = 0.6
"""``face_recognition.compare_faces``' default tolerance."""

_NO_DETECTION = Detection(box=(0.0, 0.0, 0.0, 0.0), landmarks=((0.0, 0.0),) * 5, score=0.0)


@dataclass
class ImportReport:
    """What an import did.

    Attributes:
        imported: faces stored.
        people: the names they were stored under.
        skipped: rows not imported, with their reasons.
        median_norm: the median length of the imported descriptors.
        similarity_at_default_tolerance: the similarity that ``face_recognition``'s
            tolerance of 0.6 corresponds to at that length.
        threshold: the threshold stored for the database (``tolerance`` given), or None.
    """

    imported: int = 0
    people: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    median_norm: float = 0.0
    similarity_at_default_tolerance: float = 0.0
    threshold: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {"imported": self.imported, "people": self.people,
                "skipped": [s.to_dict() for s in self.skipped],
                "median_norm": round(self.median_norm, 4),
                "similarity_at_default_tolerance":
                    round(self.similarity_at_default_tolerance, 4),
                "threshold": self.threshold}


def similarity_for_tolerance(tolerance: float, norm: float) -> float:
    """The cosine similarity of two descriptors of length ``norm`` that are ``tolerance``
    apart in Euclidean distance."""
    return 1.0 - tolerance ** 2 / (2.0 * norm ** 2)


def import_encodings(gallery: Gallery, encodings: Encodings, source: Path,
                     tolerance: float | None = None) -> ImportReport:
    """Store ``encodings`` (read from the file ``source``) in ``gallery``.

    Args:
        gallery: a database of the ``dlib-resnet-v1`` model, or an empty one (which then
            becomes one).
        encodings: what ``facerec.formats.encodings_file.read_encodings`` read.
        source: the file they came from (names the faces' sources).
        tolerance: when given, store the similarity it corresponds to as the database's
            threshold, so identification keeps the user's ``face_recognition`` setting.

    Raises:
        DatabaseError: the database holds another model's embeddings.
    """
    report = ImportReport(skipped=list(encodings.skipped))
    if not len(encodings.vectors):
        return report
    gallery.claim_model(DLIB_RESNET.name)
    norms = np.linalg.norm(encodings.vectors, axis=1)
    report.median_norm = float(np.median(norms))
    report.similarity_at_default_tolerance = similarity_for_tolerance(
        FACE_RECOGNITION_TOLERANCE, report.median_norm)
    label = str(Path(source).resolve())
    faces = [NewFace(person=name, source=f"{label}#{row}",
                     sha256=hashlib.sha256(vector.tobytes()).hexdigest(),
                     detection=_NO_DETECTION, quality=0.0, embedding=vector / norm)
             for name, row, vector, norm in zip(encodings.names, encodings.rows,
                                                encodings.vectors, norms)]
    report.imported = len(gallery.add_faces(faces))
    report.people = sorted(set(encodings.names))
    if tolerance is not None:
        report.threshold = similarity_for_tolerance(tolerance, report.median_norm)
        gallery.set_threshold(report.threshold, {
            "method": "face_recognition tolerance", "tolerance": tolerance,
            "median_norm": report.median_norm, "threshold": report.threshold})
    return report
