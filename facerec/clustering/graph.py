"""The neighbour graph of a set of face embeddings, built with FAISS (never an N x N matrix).

Each face is joined to its ``k`` nearest other faces whose cosine similarity reaches a
threshold. With ``mutual``, an edge is kept only when each face is among the other's
``k`` nearest, which stops a face that is near many people from chaining them together.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

QUERY_BATCH = 4096


@dataclass(frozen=True)
class Graph:
    """Undirected weighted edges, each once (``first < second``), over ``size`` faces."""

    size: int
    first: np.ndarray
    second: np.ndarray
    weight: np.ndarray


def neighbour_graph(embeddings: np.ndarray, k: int, threshold: float,
                    mutual: bool = False) -> Graph:
    """Edges between each of the (N, D) unit ``embeddings`` and its ``k`` nearest others
    with similarity at least ``threshold``."""
    vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
    size = len(vectors)
    if size < 2:
        return Graph(size, *(np.zeros(0, np.int64),) * 2, np.zeros(0, np.float32))
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    depth = min(k + 1, size)
    sims, ids = [], []
    for start in range(0, size, QUERY_BATCH):
        found_sims, found_ids = index.search(vectors[start:start + QUERY_BATCH], depth)
        sims.append(found_sims)
        ids.append(found_ids)
    similarity, neighbour = np.concatenate(sims), np.concatenate(ids)
    source = np.repeat(np.arange(size), depth)
    target, weight = neighbour.reshape(-1), similarity.reshape(-1)
    keep = (target >= 0) & (target != source) & (weight >= threshold)
    source, target, weight = source[keep], target[keep], weight[keep]
    first, second = np.minimum(source, target), np.maximum(source, target)
    keys, first_seen, counts = np.unique(first * size + second, return_index=True,
                                         return_counts=True)
    if mutual:  # found from both ends
        first_seen = first_seen[counts == 2]
    return Graph(size, first[first_seen], second[first_seen], weight[first_seen])
