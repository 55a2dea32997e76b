"""How close a clustering is to the truth: pairwise precision and recall, and BCubed.

Pairwise: of the pairs of faces put in one cluster, the share that are one person
(precision), and of the pairs that are one person, the share put together (recall).
BCubed (Bagga and Baldwin 1998): per face, the share of its cluster that is its person
(precision) and the share of its person that is in its cluster (recall), averaged over
faces; F is their harmonic mean. Ungrouped faces (label -1) are each their own cluster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ClusteringScores:
    pairwise_precision: float
    pairwise_recall: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f: float
    clusters: int
    ungrouped: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def score_clustering(predicted: np.ndarray, truth: np.ndarray) -> ClusteringScores:
    """Scores of (N,) ``predicted`` cluster labels against (N,) ``truth`` people."""
    predicted = np.asarray(predicted).copy()
    alone = predicted < 0
    predicted[alone] = predicted.max(initial=-1) + 1 + np.arange(int(alone.sum()))
    _, cluster = np.unique(predicted, return_inverse=True)
    _, person = np.unique(np.asarray(truth), return_inverse=True)
    cells, cell_size = np.unique(cluster * (person.max() + 1) + person, return_counts=True)
    cluster_size = np.bincount(cluster)
    person_size = np.bincount(person)

    def pairs(counts: np.ndarray) -> float:
        return float(np.sum(counts.astype(np.float64) * (counts - 1) / 2))

    together, same = pairs(cluster_size), pairs(person_size)
    right = pairs(cell_size)
    cell_cluster, cell_person = cells // (person.max() + 1), cells % (person.max() + 1)
    n = len(predicted)
    precision = float(np.sum(cell_size ** 2 / cluster_size[cell_cluster]) / n)
    recall = float(np.sum(cell_size ** 2 / person_size[cell_person]) / n)
    return ClusteringScores(
        pairwise_precision=right / together if together else 1.0,
        pairwise_recall=right / same if same else 1.0,
        bcubed_precision=precision, bcubed_recall=recall,
        bcubed_f=2 * precision * recall / (precision + recall),
        clusters=int(len(np.unique(predicted[~alone]))), ungrouped=int(alone.sum()))
