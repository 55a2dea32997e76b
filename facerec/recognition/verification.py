"""Verification: do two photos show the same person?

``verify(a, b)`` compares the main face of each photo (see ``facerec.faces.main_face``) with the
product's own rules: the embeddings' cosine similarity against the given threshold, else
the model's default (chosen on LFW View 1 DevTrain). ``Recognizer.verify`` does the same
with a database's calibrated threshold, and the HTTP service through ``verify_faces``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from facerec.errors import NoFaceError
from facerec.faces.main_face import main_face
from facerec.photos.image import ImageInput, load_image
from facerec.results import Threshold, Verification
from facerec.types import Face

if TYPE_CHECKING:
    from facerec.faces.analyzer import FaceAnalyzer

__all__ = ["Verification", "verify", "verify_faces", "verify_images"]


def verify(first: ImageInput, second: ImageInput, threshold: float | None = None,
           analyzer: FaceAnalyzer | None = None) -> Verification:
    """Whether the main faces of two images show the same person.

    Args:
        first, second: anything ``load_image`` reads.
        threshold: cosine similarity to reach; the model's default when None.
        analyzer: the networks to use (a new CPU/GPU one, fetching weights, when None).

    Raises:
        NoFaceError: an image shows no face; ImageError: it is not a readable image.
    """
    if analyzer is None:
        from facerec.faces.analyzer import FaceAnalyzer
        analyzer = FaceAnalyzer(download=True)
    chosen = Threshold(analyzer.threshold, "model") if threshold is None \
        else Threshold(float(threshold), "given")
    return verify_images(analyzer, first, second, chosen)


def verify_images(analyzer: FaceAnalyzer, first: ImageInput, second: ImageInput,
                  threshold: Threshold, labels: tuple[str, str] | None = None
                  ) -> Verification:
    """Compare the main face of two images (see ``verify_faces``); a photo is named in
    errors by its path, or as the first or second photo."""
    pixels = [load_image(first), load_image(second)]
    faces = analyzer.analyze_batch(pixels)
    if labels is None:
        labels = (_label(first, "first photo"), _label(second, "second photo"))
    photo_a, photo_b = ((f, (p.shape[1], p.shape[0])) for f, p in zip(faces, pixels))
    return verify_faces(photo_a, photo_b, threshold, analyzer.model_id, labels)


def _label(image: ImageInput, otherwise: str) -> str:
    return str(image) if isinstance(image, (str, Path)) else otherwise


def verify_faces(photo_a: tuple[Sequence[Face], tuple[int, int]],
                 photo_b: tuple[Sequence[Face], tuple[int, int]], threshold: Threshold,
                 model: str, labels: tuple[str, str] = ("first photo", "second photo")
                 ) -> Verification:
    """Compare the main face of each photo, given as (faces, (width, height)).

    Raises:
        NoFaceError: a photo has no face (named by ``labels``).
    """
    from facerec.faces.analyzer import cosine_similarity

    chosen = []
    for (faces, (width, height)), label in zip((photo_a, photo_b), labels):
        face = main_face(faces, width, height)
        if face is None:
            raise NoFaceError(f"{label}: no face found")
        chosen.append(face)
    similarity = cosine_similarity(chosen[0].embedding, chosen[1].embedding)
    return Verification(similarity >= threshold.value, similarity, threshold, model,
                        (chosen[0].detection, chosen[1].detection))
