"""Choosing a threshold from the enrolled faces themselves, for a target false-accept rate.

Genuine pairs are two faces of the same person; impostor pairs are faces of two different
people. The threshold is the lowest similarity that lets through at most ``far`` of the
impostor pairs; the genuine pairs then say how many true matches it keeps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .db.gallery import Gallery
from .errors import CalibrationError, DatabaseError
from .evaluation.metrics import threshold_for_far
from .evaluation.pairs import all_pairs


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold and the figures it came from."""

    threshold: float
    far: float
    genuine_pairs: int
    impostor_pairs: int
    true_accept_rate: float
    genuine_mean: float
    impostor_mean: float
    reliable: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def calibrate(embeddings: np.ndarray, labels: np.ndarray, far: float,
              seed: int = 0) -> Calibration:
    """Threshold for false-accept rate ``far`` from (N, D) unit embeddings and (N,) labels.

    ``reliable`` is False when there are fewer than 10 / far impostor pairs or fewer
    than 20 genuine pairs: the figures are then too thin to trust.
    """
    if not 0.0 < far < 1.0:
        raise CalibrationError("far must be between 0 and 1")
    pairs = all_pairs(embeddings, labels, seed)
    genuine, impostor = pairs.genuine, pairs.impostor
    if len(impostor) == 0 or len(genuine) == 0:
        raise CalibrationError("calibration needs at least two people, one with two faces")
    threshold = threshold_for_far(impostor, far)
    return Calibration(
        threshold=threshold, far=far, genuine_pairs=len(genuine),
        impostor_pairs=len(impostor),
        true_accept_rate=float(np.mean(genuine >= threshold)),
        genuine_mean=float(genuine.mean()), impostor_mean=float(impostor.mean()),
        reliable=len(impostor) >= 10 / far and len(genuine) >= 20)


def calibrate_gallery(gallery: Gallery, far: float, force: bool = False) -> Calibration:
    """Measure the threshold for false-accept rate ``far`` on the faces enrolled in
    ``gallery`` and store it there when enough pairs back it (or ``force``)."""
    records = gallery.all_faces()
    if not records:
        raise DatabaseError("nobody is enrolled; calibration needs enrolled faces")
    result = calibrate(np.stack([r.embedding for r in records]),
                       np.array([r.person for r in records]), far)
    if result.reliable or force:
        gallery.set_threshold(result.threshold, result.to_dict())
    return result
