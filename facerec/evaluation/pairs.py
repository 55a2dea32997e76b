"""Every genuine and impostor pair of a set of faces (a random sample when too many)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_PAIRS = 2_000_000


@dataclass(frozen=True)
class Pairs:
    """Pairs of faces by index, with their similarities.

    Attributes:
        first, second: (P,) indices into the faces; ``similarity`` (P,) their cosine;
            ``same`` (P,) whether both faces are of one person.
    """

    first: np.ndarray
    second: np.ndarray
    similarity: np.ndarray
    same: np.ndarray

    @property
    def genuine(self) -> np.ndarray:
        return self.similarity[self.same]

    @property
    def impostor(self) -> np.ndarray:
        return self.similarity[~self.same]


def all_pairs(embeddings: np.ndarray, labels: np.ndarray, seed: int = 0,
              max_pairs: int = MAX_PAIRS) -> Pairs:
    """All pairs of (N, D) unit ``embeddings`` when there are at most ``max_pairs``, else
    that many drawn at random (with ``seed``) plus every genuine pair."""
    n = len(labels)
    if n * (n - 1) // 2 <= max_pairs:
        first, second = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(seed)
        first, second = rng.integers(0, n, max_pairs), rng.integers(0, n, max_pairs)
        keep = first < second
        genuine = _genuine_pairs(labels)
        first = np.concatenate([first[keep], genuine[0]])
        second = np.concatenate([second[keep], genuine[1]])
        unique = np.unique(np.stack([first, second]), axis=1)
        first, second = unique[0], unique[1]
    similarity = np.einsum("ij,ij->i", embeddings[first], embeddings[second]) \
        if len(first) else np.zeros(0, np.float32)
    return Pairs(first, second, similarity, labels[first] == labels[second])


def _genuine_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    firsts, seconds = [], []
    for person in np.unique(labels):
        members = np.flatnonzero(labels == person)
        a, b = np.triu_indices(len(members), k=1)
        firsts.append(members[a])
        seconds.append(members[b])
    return np.concatenate(firsts), np.concatenate(seconds)
