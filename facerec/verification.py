"""Verification: do two photos show the same person?

``verify(a, b)`` compares the main face of each photo (see ``facerec.subject``) with the
product's own rules: the embeddings' cosine similarity against the given threshold, else
the model's default (chosen on LFW View 1 DevTrain). ``Recognizer.verify`` does the same
with a database's calibrated threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .image import ImageInput
from .recognizer import verify_faces, verify_images
from .results import Threshold, Verification

if TYPE_CHECKING:
    from .analyzer import FaceAnalyzer

__all__ = ["Verification", "verify", "verify_faces"]


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
        from .analyzer import FaceAnalyzer
        analyzer = FaceAnalyzer(download=True)
    chosen = Threshold(analyzer.threshold, "model") if threshold is None \
        else Threshold(float(threshold), "given")
    return verify_images(analyzer, first, second, chosen)
