"""The FAISS half of a face database: nearest-neighbour search over unit embeddings.

Ids in the index are the SQLite primary keys of the faces (``IndexIDMap2``). Inner
product on unit vectors is cosine similarity. Up to ``EXACT_LIMIT`` faces the search is
exact (``IndexFlatIP``). Above it, every face is scanned in a 4-bit product-quantised copy
(``PQ32x4fs``, 16 bytes a face, SIMD fast-scan) and the best ``REFINE_FACTOR`` x k
candidates are re-ranked exactly against the stored full vectors (``RFlat``), so the
similarities returned are exact and only a true neighbour missed by the coarse scan can
be lost. ``scripts/benchmark_search.py`` measures that recall and the latency.

The index is saved with FAISS's own format (no pickle) next to a JSON note of the
database generation it reflects; a stale or unreadable file is rebuilt from SQLite.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)

EXACT_LIMIT = 50_000
"""Largest number of faces searched exactly (about 4 ms per query on 2 CPU cores)."""

APPROXIMATE = "PQ32x4fs,RFlat"
REFINE_FACTOR = 32


class FaceIndex:
    """Nearest faces by cosine similarity.

    Args:
        dim: embedding length.
        size_hint: how many faces will be added (chooses exact or approximate).
    """

    def __init__(self, dim: int, size_hint: int = 0) -> None:
        self.dim = dim
        self.index = _make_index(dim, size_hint)

    @property
    def kind(self) -> str:
        """``"exact"`` or ``"approximate"``."""
        inner = faiss.downcast_index(self.index.index)
        return "exact" if isinstance(inner, faiss.IndexFlat) else "approximate"

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, embeddings: np.ndarray) -> None:
        """Add (N,) int64 ids with (N, D) float32 unit embeddings."""
        if len(ids):
            vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
            if not self.index.is_trained:
                self.index.train(vectors)
            self.index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k per query: similarities (Q, k) float32 and ids (Q, k) int64 (-1: none)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if len(self) == 0 or len(queries) == 0:
            return (np.full((len(queries), k), -np.inf, np.float32),
                    np.full((len(queries), k), -1, np.int64))
        return self.index.search(queries, min(k, len(self)))

    @classmethod
    def build(cls, ids: np.ndarray, embeddings: np.ndarray, dim: int) -> FaceIndex:
        index = cls(dim, size_hint=len(ids))
        index.add(ids, embeddings)
        return index

    def save(self, path: Path, generation: int) -> None:
        """Write the index and its generation note atomically (temp file, then rename)."""
        _atomic_write(path, faiss.serialize_index(self.index).tobytes())
        _atomic_write(path.with_suffix(".json"),
                      json.dumps({"generation": generation, "count": len(self),
                                  "kind": self.kind}).encode())

    @classmethod
    def load(cls, path: Path, generation: int, dim: int) -> FaceIndex | None:
        """The saved index if it reflects ``generation``; None when stale or unreadable."""
        try:
            note = json.loads(path.with_suffix(".json").read_text())
            if note.get("generation") != generation:
                return None
            raw = np.frombuffer(path.read_bytes(), dtype=np.uint8)
            index = cls.__new__(cls)
            index.dim = dim
            index.index = faiss.deserialize_index(raw)
            if int(index.index.ntotal) != note.get("count") or index.index.d != dim:
                return None
            _tune(index.index)
            return index
        except (OSError, ValueError, RuntimeError) as exc:
            log.debug("index at %s unusable (%s); rebuilding", path, exc)
            return None


def _make_index(dim: int, size_hint: int) -> faiss.Index:
    if size_hint <= EXACT_LIMIT:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    index = faiss.index_factory(dim, f"IDMap2,{APPROXIMATE}", faiss.METRIC_INNER_PRODUCT)
    _tune(index)
    return index


def _tune(index: faiss.Index) -> None:
    """Set the re-ranking depth of an approximate index (not stored in its file)."""
    inner = faiss.downcast_index(index.index) if hasattr(index, "index") else None
    if isinstance(inner, faiss.IndexRefine):
        inner.k_factor = REFINE_FACTOR


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
