"""The FAISS index: exact and approximate kinds, saving, and staleness."""

from __future__ import annotations

import numpy as np

from facerec.db import index as index_module
from facerec.db.index import FaceIndex


def unit(rows: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_exact_search_returns_database_ids():
    vectors = unit(50)
    ids = np.arange(1000, 1050, dtype=np.int64)
    index = FaceIndex.build(ids, vectors, 16)
    assert index.kind == "exact" and len(index) == 50
    sims, found = index.search(vectors[[3, 7]], 2)
    assert list(found[:, 0]) == [1003, 1007]
    np.testing.assert_allclose(sims[:, 0], 1.0, atol=1e-5)
    index.remove(np.array([1003]))
    assert index.search(vectors[3], 1)[1][0, 0] != 1003


def test_large_databases_get_an_approximate_index(monkeypatch):
    monkeypatch.setattr(index_module, "EXACT_LIMIT", 100)
    vectors = unit(2000, dim=128, seed=1)
    ids = np.arange(1, 2001, dtype=np.int64)
    index = FaceIndex.build(ids, vectors, 128)
    assert index.kind == "approximate"
    sims, found = index.search(vectors[:50], 1)
    assert (found[:, 0] == ids[:50]).all()
    np.testing.assert_allclose(sims[:, 0], 1.0, atol=1e-5)  # re-ranked exactly


def test_save_load_and_staleness(tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "EXACT_LIMIT", 10)
    vectors = unit(200, dim=128)
    index = FaceIndex.build(np.arange(200, dtype=np.int64), vectors, 128)
    assert index.kind == "approximate"
    path = tmp_path / "faces.index"
    index.save(path, generation=5)
    loaded = FaceIndex.load(path, 5, 128)
    assert loaded is not None and len(loaded) == 200 and loaded.kind == "approximate"
    assert loaded.search(vectors[4], 1)[1][0, 0] == 4
    assert FaceIndex.load(path, 6, 128) is None
    path.write_bytes(b"broken")
    assert FaceIndex.load(path, 5, 128) is None


def test_empty_index_answers_nothing():
    index = FaceIndex(16)
    sims, found = index.search(unit(2), 3)
    assert (found == -1).all() and sims.shape == (2, 3)
