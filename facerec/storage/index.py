"""The FAISS half of a face database: nearest-neighbour search over unit embeddings.

Ids in the index are the SQLite primary keys of the faces (``IndexIDMap``). Inner
product on unit vectors is cosine similarity. Up to ``EXACT_LIMIT`` faces the search is
exact (``IndexFlatIP``). Above it, every face is scanned in a 4-bit product-quantised copy
(``PQ32x4fs``, 16 bytes a face, SIMD fast-scan) and the best ``REFINE_FACTOR`` x k
candidates are re-ranked exactly against the stored full vectors (``RFlat``), so the
similarities returned are exact and only a true neighbour missed by the coarse scan can
be lost. ``scripts/benchmark_search.py`` measures that recall and the latency.

Both kinds take new faces in place. The quantiser is trained once, on a sample, and
keeps encoding new faces; ``stale`` says when it has grown far past what it was trained
on. The exact index removes faces in place; the approximate one cannot, so it keeps the
ids it must forget (the database never reuses ids) and passes over them: a query whose
nearest faces are forgotten ones is searched again deeper, up to ``k`` plus every
forgotten face, so removed faces never hide a live neighbour however many crowd a probe.
``stale`` asks for a rebuild once forgotten faces are a large share.

The index is saved with FAISS's own format (no pickle) next to a JSON note of the
database change-log position it reflects and its counts.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from facerec.formats.files import atomic_write

log = logging.getLogger(__name__)

EXACT_LIMIT = 50_000
"""Largest number of faces searched exactly (about 4 ms per query on 2 CPU cores)."""

APPROXIMATE = "PQ32x4fs,RFlat"
REFINE_FACTOR = 32
TRAINING_SAMPLE = 65_536
"""Faces the quantiser is trained on (a random sample of those present at build time)."""

REGROW_FACTOR = 4
"""An approximate index is rebuilt once it holds this many times the faces it was trained
on; an exact one once it passes ``EXACT_LIMIT`` by this factor's worth of margin."""

FORGOTTEN_SHARE = 0.2
"""An approximate index is rebuilt once forgotten (removed) faces pass this share."""


class FaceIndex:
    """Nearest faces by cosine similarity.

    Args:
        dim: embedding length.
        size_hint: how many faces will be added (chooses exact or approximate).
    """

    def __init__(self, dim: int, size_hint: int = 0) -> None:
        self.dim = dim
        self.index = _make_index(dim, size_hint)
        self.trained_on = 0
        """How many faces the quantiser was trained on (0 for an exact index)."""
        self.forgotten_ids = np.empty(0, np.int64)
        """Ids of removed faces an approximate index still holds, sorted."""

    @property
    def forgotten(self) -> int:
        """How many removed faces an approximate index still holds."""
        return len(self.forgotten_ids)

    @property
    def kind(self) -> str:
        """``"exact"`` or ``"approximate"``."""
        # the index an IDMap wraps (faiss's stubs type every index as the base Index)
        inner = faiss.downcast_index(self.index.index)  # type: ignore[attr-defined]
        return "exact" if isinstance(inner, faiss.IndexFlat) else "approximate"

    def __len__(self) -> int:
        """Faces that can be found (forgotten ones not counted)."""
        return int(self.index.ntotal) - self.forgotten

    @property
    def stale(self) -> bool:
        """Whether a rebuild would now give a better index (see the module docstring)."""
        size = len(self)
        if self.kind == "exact":
            return size > EXACT_LIMIT * 2
        return (size > REGROW_FACTOR * max(self.trained_on, EXACT_LIMIT)
                or self.forgotten > FORGOTTEN_SHARE * max(int(self.index.ntotal), 1))

    def train(self, sample: np.ndarray) -> None:
        """Train the quantiser of an approximate index on (S, D) unit embeddings."""
        if not self.index.is_trained:
            self.index.train(np.ascontiguousarray(sample, dtype=np.float32))
            self.trained_on = len(sample)

    def add(self, ids: np.ndarray, embeddings: np.ndarray) -> None:
        """Add (N,) int64 ids with (N, D) float32 unit embeddings."""
        if len(ids):
            vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
            if not self.index.is_trained:
                self.train(_sample(vectors))
            self.index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        """Remove faces by id: in place when exact, forgotten when approximate. Their
        full vectors are overwritten with zeros first, so none stays in the index's
        memory (a forgotten face keeps only its 16-byte quantised code until the
        rebuild)."""
        if not len(ids):
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        self._zero_vectors(ids)
        if self.kind == "exact":
            self.index.remove_ids(ids)  # type: ignore[arg-type]  # faiss takes id arrays
        else:
            self.forgotten_ids = np.union1d(self.forgotten_ids, ids)

    def _zero_vectors(self, ids: np.ndarray) -> None:
        """Overwrite the stored full vectors of faces ``ids`` with zeros, in place."""
        index: Any = self.index  # faiss's stubs type every index as the base Index
        rows = np.flatnonzero(np.isin(faiss.vector_to_array(index.id_map), ids))
        if not len(rows):
            return
        inner: Any = faiss.downcast_index(index.index)
        flat: Any = inner if isinstance(inner, faiss.IndexFlat) \
            else faiss.downcast_index(inner.refine_index)
        stored = faiss.rev_swig_ptr(flat.get_xb(), int(flat.ntotal) * self.dim)
        stored.reshape(-1, self.dim)[rows] = 0

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k per query: similarities (Q, k') float32 and ids (Q, k') int64, best
        first (k' <= k; -1 and -inf where the index holds fewer faces). Forgotten faces
        are never returned."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        total = int(self.index.ntotal)
        if total == 0 or len(queries) == 0:
            return _nothing(len(queries), k)
        if not self.forgotten:
            return self.index.search(queries, min(k, total))
        return self._search_past_forgotten(queries, k)

    def _search_past_forgotten(self, queries: np.ndarray,
                               k: int) -> tuple[np.ndarray, np.ndarray]:
        """Search each query deep enough to find k faces that are not forgotten: first
        k + min(forgotten, k) deep, then twice as deep for the queries still short, up to
        k + forgotten (where k live faces are certain to be within reach)."""
        total = int(self.index.ntotal)
        deepest = min(k + self.forgotten, total)
        wanted = min(k, len(self))
        sims, ids = _nothing(len(queries), k)
        todo = np.arange(len(queries))
        depth = min(k + min(self.forgotten, k), deepest)
        while len(todo):
            found_sims, found_ids = self.index.search(queries[todo], depth)
            alive = (found_ids >= 0) & ~self._is_forgotten(found_ids)
            done = (alive.sum(axis=1) >= wanted) | (depth >= deepest)
            for row in np.flatnonzero(done):
                kept_sims = found_sims[row][alive[row]][:k]
                sims[todo[row], :len(kept_sims)] = kept_sims
                ids[todo[row], :len(kept_sims)] = found_ids[row][alive[row]][:k]
            todo = todo[~done]
            depth = min(depth * 2, deepest)
        return sims, ids

    def _is_forgotten(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` are forgotten: a binary search in the sorted forgotten ids,
        so the cost follows the results, not the number forgotten."""
        places = np.searchsorted(self.forgotten_ids, ids).clip(max=self.forgotten - 1)
        return self.forgotten_ids[places] == ids

    @classmethod
    def build(cls, ids: np.ndarray, embeddings: np.ndarray, dim: int) -> FaceIndex:
        """An index of (N,) ids and (N, D) embeddings, of the kind their number calls for."""
        index = cls(dim, size_hint=len(ids))
        index.add(ids, embeddings)
        return index

    def save(self, path: Path, seq: int) -> None:
        """Write the index and its note atomically (temp file, then rename)."""
        atomic_write(path, faiss.serialize_index(self.index).tobytes())
        atomic_write(path.with_suffix(".json"), json.dumps({
            "seq": seq, "count": int(self.index.ntotal), "kind": self.kind,
            "trained_on": self.trained_on, "forgotten": self.forgotten,
            "forgotten_ids": self.forgotten_ids.tolist()}).encode())

    @classmethod
    def load(cls, path: Path, dim: int) -> tuple[FaceIndex, int] | None:
        """The saved index and the change-log position it reflects; None when missing,
        unreadable or of another dimension."""
        try:
            note = json.loads(path.with_suffix(".json").read_text())
            seq = note["seq"]
            raw = np.frombuffer(path.read_bytes(), dtype=np.uint8)
            index = cls.__new__(cls)
            index.dim = dim
            index.index = faiss.deserialize_index(raw)
            index.trained_on = int(note.get("trained_on", 0))
            index.forgotten_ids = np.unique(np.asarray(note.get("forgotten_ids", []),
                                                       dtype=np.int64))
            if (int(index.index.ntotal) != note.get("count") or index.index.d != dim
                    or index.forgotten != note.get("forgotten", 0)):
                return None
            _tune(index.index)
            return index, int(seq)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            log.debug("index at %s unusable (%s); rebuilding", path, exc)
            return None


def _nothing(queries: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Search results that found nothing: -inf similarities and -1 ids, (queries, k)."""
    return (np.full((queries, k), -np.inf, np.float32), np.full((queries, k), -1, np.int64))


def _make_index(dim: int, size_hint: int) -> faiss.Index:
    if size_hint <= EXACT_LIMIT:
        return faiss.IndexIDMap(faiss.IndexFlatIP(dim))
    index = faiss.index_factory(dim, f"IDMap,{APPROXIMATE}", faiss.METRIC_INNER_PRODUCT)
    _tune(index)
    return index


def _tune(index: faiss.Index) -> None:
    """Set the re-ranking depth of an approximate index (not stored in its file)."""
    inner = faiss.downcast_index(index.index) if hasattr(index, "index") else None
    if isinstance(inner, faiss.IndexRefine):
        inner.k_factor = REFINE_FACTOR


def _sample(vectors: np.ndarray, size: int = TRAINING_SAMPLE, seed: int = 0) -> np.ndarray:
    if len(vectors) <= size:
        return vectors
    rows = np.random.default_rng(seed).choice(len(vectors), size, replace=False)
    return vectors[np.sort(rows)]
