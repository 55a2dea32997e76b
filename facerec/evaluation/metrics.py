"""Verification and open-set identification figures from similarities, in numpy.

Conventions: a *genuine* pair is two faces of the same person, an *impostor* pair two
faces of different people; a pair is accepted when its similarity is at or above the
threshold. FAR is the share of impostor pairs accepted, TAR the share of genuine pairs
accepted, FRR = 1 - TAR. In open-set identification, a *known* probe is a photo of an
enrolled person and a *stranger* a photo of someone not enrolled; FPIR is the share of
strangers whose best similarity reaches the threshold, DIR the share of known probes
whose best candidate is right and reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def threshold_for_far(impostor: np.ndarray, far: float) -> float:
    """The lowest threshold that accepts at most ``far`` of the impostor pairs (one step
    of the similarities' own precision above the first impostor it must refuse)."""
    ordered = np.sort(np.asarray(impostor))[::-1]
    allowed = int(np.floor(far * len(ordered)))
    if allowed >= len(ordered):
        return float(ordered[-1])
    return float(np.nextafter(ordered[allowed], np.array(np.inf, ordered.dtype)))


def accept_rate(similarities: np.ndarray, threshold: float) -> float:
    """Share of ``similarities`` at or above ``threshold`` (0 for none)."""
    values = np.asarray(similarities)
    return float(np.mean(values >= threshold)) if values.size else 0.0


def accuracy(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> float:
    """Share of all pairs judged right at ``threshold``."""
    right = np.sum(genuine >= threshold) + np.sum(impostor < threshold)
    return float(right / max(len(genuine) + len(impostor), 1))


def best_accuracy_threshold(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """The threshold with the best accuracy, midway between neighbouring similarities."""
    values = np.unique(np.concatenate([genuine, impostor]))
    candidates = np.concatenate([[values[0] - 1e-6], (values[1:] + values[:-1]) / 2,
                                 [values[-1] + 1e-6]])
    genuine_sorted, impostor_sorted = np.sort(genuine), np.sort(impostor)
    accepted_genuine = len(genuine) - np.searchsorted(genuine_sorted, candidates, "left")
    rejected_impostor = np.searchsorted(impostor_sorted, candidates, "left")
    return float(candidates[int(np.argmax(accepted_genuine + rejected_impostor))])


@dataclass(frozen=True)
class RocCurve:
    """(K,) arrays over thresholds from high to low: FAR and TAR at each."""

    thresholds: np.ndarray
    far: np.ndarray
    tar: np.ndarray


def roc_curve(genuine: np.ndarray, impostor: np.ndarray) -> RocCurve:
    """FAR and TAR at every distinct similarity, from the highest threshold down."""
    thresholds = np.unique(np.concatenate([genuine, impostor]))[::-1]
    genuine_sorted, impostor_sorted = np.sort(genuine), np.sort(impostor)
    tar = (len(genuine) - np.searchsorted(genuine_sorted, thresholds, "left")) \
        / max(len(genuine), 1)
    far = (len(impostor) - np.searchsorted(impostor_sorted, thresholds, "left")) \
        / max(len(impostor), 1)
    return RocCurve(thresholds, far.astype(np.float64), tar.astype(np.float64))


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """(EER, threshold): where FAR and FRR cross (their mean at the closest threshold)."""
    curve = roc_curve(genuine, impostor)
    frr = 1.0 - curve.tar
    index = int(np.argmin(np.abs(curve.far - frr)))
    return float((curve.far[index] + frr[index]) / 2), float(curve.thresholds[index])


def tar_at_far(genuine: np.ndarray, impostor: np.ndarray, far: float) -> float | None:
    """TAR at the threshold for ``far``; None when too few impostor pairs measure it
    (fewer than ``1 / far``)."""
    if len(impostor) < 1.0 / far:
        return None
    return accept_rate(genuine, threshold_for_far(impostor, far))


@dataclass(frozen=True)
class OpenSet:
    """Open-set identification figures.

    Attributes:
        cmc: (R,) share of known probes whose right person is within the first r+1
            candidates, r = 0..R-1 (``cmc[0]`` is rank-1).
        known_best: (K,) best similarity of each known probe, with ``known_right``
            (K,) whether that best candidate is the right person.
        stranger_best: (S,) best similarity of each stranger.
    """

    cmc: np.ndarray
    known_best: np.ndarray
    known_right: np.ndarray
    stranger_best: np.ndarray

    @property
    def rank1(self) -> float:
        return float(self.cmc[0]) if len(self.cmc) else 0.0

    def dir_at_fpir(self, fpir: float) -> tuple[float, float] | None:
        """(DIR, threshold) at the threshold letting through ``fpir`` of the strangers;
        None when there are fewer than ``1 / fpir`` strangers."""
        if len(self.stranger_best) < 1.0 / fpir:
            return None
        threshold = threshold_for_far(self.stranger_best, fpir)
        hits = self.known_right & (self.known_best >= threshold)
        return float(np.mean(hits)) if len(hits) else 0.0, threshold


def open_set(gallery: np.ndarray, gallery_labels: np.ndarray, probes: np.ndarray,
             probe_labels: np.ndarray, max_rank: int = 20) -> OpenSet:
    """Identify each probe among the enrolled people.

    Args:
        gallery: (G, D) unit embeddings of enrolled faces; ``gallery_labels`` (G,) people.
        probes: (P, D) unit embeddings; ``probe_labels`` (P,) their people (a person not
            in the gallery is a stranger).
        max_rank: length of the CMC curve.
    """
    people = np.unique(gallery_labels)
    column = {person: i for i, person in enumerate(people)}
    per_face = probes @ gallery.T if len(probes) and len(gallery) else \
        np.zeros((len(probes), len(gallery)))
    scores = np.full((len(probes), len(people)), -np.inf)
    for j, person in enumerate(gallery_labels):  # a person scores by their best face
        k = column[person]
        scores[:, k] = np.maximum(scores[:, k], per_face[:, j])
    known = np.isin(probe_labels, people)
    order = np.argsort(-scores, axis=1)
    ranks = np.full(len(probes), len(people))
    for i in np.flatnonzero(known):
        ranks[i] = int(np.flatnonzero(order[i] == column[probe_labels[i]])[0])
    depth = min(max_rank, len(people))
    cmc = np.array([np.mean(ranks[known] <= r) if known.any() else 0.0
                    for r in range(depth)])
    best = scores.max(axis=1) if len(people) else np.zeros(len(probes))
    return OpenSet(cmc=cmc, known_best=best[known], known_right=ranks[known] == 0,
                   stranger_best=best[~known])
