"""Verification: do two photos show the same person?

Each photo's main face (see ``facerec.subject``) is compared; the cosine similarity of
their embeddings is checked against a threshold (by default the model's, chosen on LFW
View 1 DevTrain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .analyzer import cosine_similarity
from .errors import NoFaceError
from .subject import main_face
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


PhotoFaces = tuple[Sequence[Face], tuple[int, int]]
"""A photo's faces and its (width, height)."""


def verify_faces(photo_a: PhotoFaces, photo_b: PhotoFaces, threshold: float, model: str,
                 labels: tuple[str, str] = ("first photo", "second photo")) -> Verification:
    """Compare the main face of each photo.

    Raises:
        NoFaceError: a photo has no face (named by ``labels``).
    """
    chosen = []
    for (faces, (width, height)), label in zip((photo_a, photo_b), labels):
        face = main_face(faces, width, height)
        if face is None:
            raise NoFaceError(f"{label}: no face found")
        chosen.append(face)
    similarity = cosine_similarity(chosen[0].embedding, chosen[1].embedding)
    return Verification(similarity >= threshold, similarity, threshold, model,
                        (chosen[0].detection, chosen[1].detection))
