"""Choosing a threshold from the enrolled faces themselves, for a target false-accept rate.

Genuine pairs are two faces of the same person; impostor pairs are faces of two different
people. The threshold is the lowest similarity that lets through at most ``far`` of the
impostor pairs; the genuine pairs then say how many true matches it keeps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import CalibrationError

MAX_PAIRS = 2_000_000


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
    genuine, impostor = _pair_similarities(embeddings, labels, np.random.default_rng(seed))
    if len(impostor) == 0 or len(genuine) == 0:
        raise CalibrationError("calibration needs at least two people, one with two faces")
    ordered = np.sort(impostor)[::-1]
    allowed = int(np.floor(far * len(ordered)))
    threshold = float(np.nextafter(ordered[allowed], np.float32(np.inf))) \
        if allowed < len(ordered) else float(ordered[-1])
    return Calibration(
        threshold=threshold, far=far, genuine_pairs=len(genuine),
        impostor_pairs=len(impostor),
        true_accept_rate=float(np.mean(genuine >= threshold)),
        genuine_mean=float(genuine.mean()), impostor_mean=float(impostor.mean()),
        reliable=len(impostor) >= 10 / far and len(genuine) >= 20)


def _pair_similarities(embeddings: np.ndarray, labels: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = len(labels)
    if n * (n - 1) // 2 <= MAX_PAIRS:
        sims = embeddings @ embeddings.T
        upper = np.triu_indices(n, k=1)
        same = labels[upper[0]] == labels[upper[1]]
        values = sims[upper]
        return values[same], values[~same]
    a, b = rng.integers(0, n, MAX_PAIRS), rng.integers(0, n, MAX_PAIRS)
    keep = a != b
    a, b = a[keep], b[keep]
    values = np.einsum("ij,ij->i", embeddings[a], embeddings[b])
    same = labels[a] == labels[b]
    return values[same], values[~same]
