"""Clustering a neighbour graph: connected components, and Chinese whispers.

Labels are cluster numbers from 0; a face left alone in its cluster is *ungrouped* and
labelled -1. Both algorithms are deterministic for a given graph (and seed).
"""

from __future__ import annotations

import numpy as np

from facerec.clustering.graph import Graph

UNGROUPED = -1


def connected_components(graph: Graph) -> np.ndarray:
    """(N,) labels: faces joined by any path of edges share a cluster (single linkage)."""
    parent = np.arange(graph.size)
    first, second = graph.first, graph.second
    while True:  # pointer jumping: every face's root is the smallest face it reaches
        lowest = np.minimum(parent[first], parent[second])
        np.minimum.at(parent, first, lowest)
        np.minimum.at(parent, second, lowest)
        jumped = parent[parent]
        if np.array_equal(jumped, parent) and np.array_equal(parent[first], parent[second]):
            break
        parent = jumped
    return _numbered(parent)


def chinese_whispers(graph: Graph, iterations: int = 20, seed: int = 0) -> np.ndarray:
    """(N,) labels by Chinese whispers (Biemann 2006): every face starts in its own class
    and repeatedly takes the class with the largest total edge weight among its
    neighbours. Faces are updated in random quarters, so classes settle rather than
    oscillate."""
    labels = np.arange(graph.size)
    if len(graph.first) == 0:
        return _numbered(labels)
    source = np.concatenate([graph.first, graph.second])
    target = np.concatenate([graph.second, graph.first])
    weight = np.concatenate([graph.weight, graph.weight]).astype(np.float64)
    rng = np.random.default_rng(seed)
    for _ in range(iterations):
        changed = 0
        for part in np.array_split(rng.permutation(graph.size), 4):
            chosen = np.zeros(graph.size, bool)
            chosen[part] = True
            edges = chosen[source]
            best = _heaviest_label(source[edges], labels[target[edges]], weight[edges],
                                   graph.size)
            update = part[best[part] >= 0]
            changed += int(np.sum(labels[update] != best[update]))
            labels[update] = best[update]
        if changed == 0:
            break
    return _numbered(labels)


def _heaviest_label(node: np.ndarray, label: np.ndarray, weight: np.ndarray,
                    size: int) -> np.ndarray:
    """For each node, the label with the largest summed weight (-1 for no edges)."""
    best = np.full(size, -1)
    if len(node) == 0:
        return best
    keys, inverse = np.unique(node * size + label, return_inverse=True)
    totals = np.bincount(inverse, weights=weight)
    key_node, key_label = keys // size, keys % size
    order = np.lexsort((-totals, key_node))  # by node, heaviest first
    first_of_node = np.ones(len(order), bool)
    first_of_node[1:] = key_node[order][1:] != key_node[order][:-1]
    winners = order[first_of_node]
    best[key_node[winners]] = key_label[winners]
    return best


def _numbered(roots: np.ndarray) -> np.ndarray:
    """Clusters numbered from 0 by size (largest first); singletons become UNGROUPED."""
    _, inverse, counts = np.unique(roots, return_inverse=True, return_counts=True)
    sizes = counts[inverse]
    labels = np.full(len(roots), UNGROUPED)
    grouped = sizes > 1
    if grouped.any():
        cluster_ids = np.unique(inverse[grouped])
        order = cluster_ids[np.argsort(-counts[cluster_ids], kind="stable")]
        renumber = np.full(len(counts), UNGROUPED)
        renumber[order] = np.arange(len(order))
        labels[grouped] = renumber[inverse[grouped]]
    return labels
