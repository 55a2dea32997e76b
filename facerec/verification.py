"""Verification: do two photos show the same person?

Each photo's largest face is compared; the cosine similarity of their embeddings is
checked against a threshold (by default the model's, chosen on LFW View 1 DevTrain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .analyzer import cosine_similarity
from .errors import NoFaceError
from .types import Detection, Face


@dataclass(frozen=True)
class Verification:
    """The answer for one pair of photos.

    Attributes:
        same_person: similarity >= threshold.
        similarity: cosine similarity of the two faces' embeddings, -1..1.
        threshold: the threshold used.
        model: the embedding model's id.
        faces: the face compared in each photo.
    """

    same_person: bool
    similarity: float
    threshold: float
    model: str
    faces: tuple[Detection, Detection]

    def to_dict(self) -> dict[str, object]:
        return {"same_person": self.same_person, "similarity": round(self.similarity, 4),
                "threshold": self.threshold, "model": self.model,
                "faces": [face.to_dict() for face in self.faces]}


def verify_faces(faces_a: Sequence[Face], faces_b: Sequence[Face], threshold: float,
                 model: str, labels: tuple[str, str] = ("first photo", "second photo")
                 ) -> Verification:
    """Compare the largest face of each photo.

    Raises:
        NoFaceError: a photo has no face (named by ``labels``).
    """
    chosen = []
    for faces, label in zip((faces_a, faces_b), labels):
        if not faces:
            raise NoFaceError(f"{label}: no face found")
        chosen.append(max(faces, key=lambda f: f.detection.area))
    similarity = cosine_similarity(chosen[0].embedding, chosen[1].embedding)
    return Verification(similarity >= threshold, similarity, threshold, model,
                        (chosen[0].detection, chosen[1].detection))
