"""The FAISS index: exact and approximate kinds, saving, and staleness."""

from __future__ import annotations

import numpy as np

from facerec.storage import index as index_module
from facerec.storage.index import FaceIndex


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


def test_save_and_load(tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "EXACT_LIMIT", 10)
    vectors = unit(200, dim=128)
    index = FaceIndex.build(np.arange(200, dtype=np.int64), vectors, 128)
    assert index.kind == "approximate"
    path = tmp_path / "faces.index"
    index.save(path, seq=5)
    loaded, seq = FaceIndex.load(path, 128)
    assert seq == 5 and len(loaded) == 200 and loaded.kind == "approximate"
    assert loaded.search(vectors[4], 1)[1][0, 0] == 4
    loaded.remove(np.array([4, 9]))
    loaded.save(path, seq=6)
    again, _ = FaceIndex.load(path, 128)
    assert list(again.forgotten_ids) == [4, 9] and len(again) == 198
    assert again.search(vectors[4], 1)[1][0, 0] not in (4, 9)
    assert FaceIndex.load(path, 64) is None  # another dimension
    path.write_bytes(b"broken")
    assert FaceIndex.load(path, 128) is None


def test_empty_index_answers_nothing():
    index = FaceIndex(16)
    sims, found = index.search(unit(2), 3)
    assert (found == -1).all() and sims.shape == (2, 3)


def test_approximate_index_takes_faces_in_place_and_asks_for_a_rebuild(monkeypatch):
    """New faces are encoded with the trained quantiser; removed ones are forgotten until
    they are a large share, and growing far past the training size asks for a rebuild."""
    monkeypatch.setattr(index_module, "EXACT_LIMIT", 100)
    vectors = unit(1000, dim=128, seed=2)
    index = FaceIndex.build(np.arange(400, dtype=np.int64), vectors[:400], 128)
    assert index.kind == "approximate" and index.trained_on == 400 and not index.stale
    index.add(np.arange(400, 1000, dtype=np.int64), vectors[400:])
    assert index.search(vectors[900], 1)[1][0, 0] == 900 and not index.stale
    index.remove(np.arange(0, 300, dtype=np.int64))
    assert len(index) == 700 and index.stale  # 30% forgotten
    exact = FaceIndex.build(np.arange(50, dtype=np.int64), vectors[:50], 128)
    exact.add(np.arange(50, 201, dtype=np.int64), vectors[50:201])
    assert exact.kind == "exact" and exact.stale  # past twice the exact limit


def test_removed_faces_crowding_a_probe_never_hide_its_neighbour():
    """At the size where the index turns approximate, more than k removed faces nearer a
    probe than its true neighbour: the search goes deeper past them."""
    rng = np.random.default_rng(3)
    count = index_module.EXACT_LIMIT + 5_000
    vectors = unit(count, dim=128, seed=3)
    probe = vectors[0]

    def near(spread: float, rows: int) -> np.ndarray:
        x = probe + spread * rng.standard_normal((rows, 128)).astype(np.float32) / np.sqrt(128)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    crowd, neighbour = near(0.1, 40), near(0.4, 1)
    ids = np.arange(count + 41, dtype=np.int64)
    index = FaceIndex.build(ids, np.concatenate([vectors, crowd, neighbour]), 128)
    assert index.kind == "approximate"
    removed = np.concatenate([[0], np.arange(count, count + 40)])  # the probe's own and the crowd
    index.remove(removed)
    sims, found = index.search(probe, 3)
    assert found[0, 0] == count + 40 and not np.isin(found, removed).any()
    assert (found >= 0).all() and np.all(np.diff(sims[0]) <= 0)


def stored_vectors(index: FaceIndex, rows: int) -> np.ndarray:
    """The first ``rows`` full vectors in the index's memory, read in place (past its
    count too, where a removal left the buffer's tail as it was)."""
    import faiss

    inner = faiss.downcast_index(index.index.index)
    flat = inner if isinstance(inner, faiss.IndexFlat) \
        else faiss.downcast_index(inner.refine_index)
    return faiss.rev_swig_ptr(flat.get_xb(), rows * index.dim).reshape(rows, index.dim).copy()


def test_a_removed_face_leaves_no_copy_in_the_exact_index_memory():
    vectors = unit(50)
    index = FaceIndex.build(np.arange(50, dtype=np.int64), vectors, 16)
    index.remove(np.array([49, 10]))  # the last row is left behind by a shrinking buffer
    left = stored_vectors(index, 50)
    for gone in (49, 10):
        assert not np.isclose(left, vectors[gone]).all(axis=1).any()
    assert (index.search(vectors[11], 1)[1] == 11).all()


def test_a_forgotten_face_leaves_no_full_vector_in_the_approximate_index(monkeypatch):
    monkeypatch.setattr(index_module, "EXACT_LIMIT", 100)
    vectors = unit(400, dim=128, seed=2)
    index = FaceIndex.build(np.arange(400, dtype=np.int64), vectors, 128)
    assert index.kind == "approximate"
    index.remove(np.array([7, 399]))
    left = stored_vectors(index, 400)
    for gone in (7, 399):
        assert not np.isclose(left, vectors[gone]).all(axis=1).any()
    assert index.search(vectors[8], 1)[1][0, 0] == 8
