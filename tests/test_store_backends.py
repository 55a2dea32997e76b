"""One storage suite, run against every backend: the SQLite store (a file) and the
PostgreSQL store (a real server, tests/postgres.py). What a face database keeps and
answers must not depend on where it lives."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from facerec.errors import DatabaseError, PersonExists, PersonNotFound
from facerec.storage.rows import NewFace
from facerec.storage.store import FaceStore
from facerec.types import Detection

DIM = 8
_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> Iterator[FaceStore]:
    if request.param == "sqlite":
        opened = FaceStore(tmp_path / "faces.sqlite")
    else:
        from facerec.storage.postgres import PostgresFaceStore

        postgres = request.getfixturevalue("postgres")
        request.getfixturevalue("monkeypatch").setenv("PGPASSWORD", postgres.password)
        opened = PostgresFaceStore(postgres.database_url(f"store_{next(_databases)}"))
    try:
        yield opened
    finally:
        opened.close()


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def face(person: str, source: str, seed: int, sha256: str | None = None) -> NewFace:
    detection = Detection.of((1, 2, 50, 60), [(10, 20), (30, 20), (20, 30), (12, 45),
                                              (28, 45)], 0.9)
    return NewFace(person, source, sha256 or f"sha-{source}", detection, 0.8, unit(seed))


def test_people_and_faces_read_back(store):
    store.claim_model("sface-2021dec")
    ids = store.add_faces([face("Ada", "a/1.jpg", 1), face("Ada", "a/2.jpg", 2),
                           face("Zoë", "z/1.jpg", 3)])
    assert ids == [1, 2, 3] and store.model == "sface-2021dec"
    with pytest.raises(DatabaseError, match="cannot be mixed"):
        store.claim_model("w600k-mbf")
    assert store.people() == [("Ada", 2), ("Zoë", 1)]
    assert store.counts() == (2, 3) and store.has_people() and store.embedding_size() == DIM
    [first] = [f for f in store.faces_of("Zoë")]
    assert first.source == "z/1.jpg" and first.detection.landmarks[4] == (28.0, 45.0)
    np.testing.assert_array_equal(first.embedding, unit(3))
    assert store.face(2).source == "a/2.jpg" and store.face(99) is None
    assert [f.id for f in store.all_faces()] == [1, 2, 3]
    assert store.sources(["a/1.jpg"]) == {"a/1.jpg": ("sha-a/1.jpg", "Ada")}
    assert store.holders(["sha-z/1.jpg"]) == {"sha-z/1.jpg": [("z/1.jpg", "Zoë")]}
    assert store.person_of([1, 3, 7]) == {1: "Ada", 3: "Zoë"}
    with pytest.raises(PersonNotFound):
        store.faces_of("nobody")


def test_a_photo_has_one_owner_and_ids_are_never_reused(store):
    store.add_faces([face("Ada", "a/1.jpg", 1)])
    kept, refused = store.claim_faces([face("Bob", "b/1.jpg", 2, sha256="sha-a/1.jpg"),
                                       face("Bob", "b/2.jpg", 3)])
    assert len(kept) == 1 and [(r.owner, r.held) for r in refused] == [("Ada", "a/1.jpg")]
    removed = store.remove_faces(kept)
    assert [f.source for f in removed] == ["b/2.jpg"] and store.people() == [("Ada", 1)]
    assert store.add_faces([face("Bob", "b/3.jpg", 4)]) == [3]  # 2 was given once


def test_renames_merges_and_case_twins(store):
    store.add_faces([face("Ada", "a/1.jpg", 1), face("Bob", "b/1.jpg", 2)])
    store.rename("Bob", "Robert")
    assert store.case_twin("ROBERT") == "Robert" and store.case_twin("Robert") is None
    with pytest.raises(PersonExists):
        store.refuse_case_twin("ada")
    with pytest.raises(PersonExists):
        store.rename("Robert", "Ada")
    assert store.merge("Robert", "Ada") == 1
    assert store.people() == [("Ada", 2)]
    with pytest.raises(DatabaseError, match="into itself"):
        store.merge("Ada", "Ada")


def test_the_change_log_says_what_changed(store):
    start = store.generation
    ids = store.add_faces([face("Ada", "a/1.jpg", 1), face("Ada", "a/2.jpg", 2)])
    middle = store.generation
    delta = store.changes_since(start)
    assert list(delta.add_ids) == ids and delta.seq == middle and len(delta.remove_ids) == 0
    store.remove_person("Ada")
    delta = store.changes_since(middle)
    assert sorted(delta.remove_ids) == ids and len(delta.add_ids) == 0
    store.prune_changes(middle)
    assert store.changes_since(start) is None  # the log no longer reaches back there
    assert store.generation >= middle
    batches = list(store.embedding_batches(size=1))
    assert batches == []  # nobody left


def test_snapshots_of_every_embedding(store):
    store.add_faces([face("Ada", f"a/{n}.jpg", n) for n in range(5)])
    batches = list(store.embedding_batches(size=2))
    assert [len(ids) for _, ids, _ in batches] == [2, 2, 1]
    assert all(seq == store.generation for seq, _, _ in batches)
    assert store.sample_embeddings(3, seed=1).shape[1] == DIM


def test_skips_rejections_and_settings(store):
    store.record_skips([("a/blur.jpg", "sha-blur", "no face found", "Ada")], "yunet")
    store.record_skips([("a/blur.jpg", "sha-blur2", "too small", "Ada")], "yunet")
    assert store.skips("yunet") == {"a/blur.jpg": ("sha-blur2", "too small")}
    store.add_faces([face("Ada", "a/1.jpg", 1)])
    assert store.reject("Ada", face("Ada", "party.jpg#1", 9)) is True
    assert store.reject("Ada", face("Ada", "party.jpg#1", 9)) is False
    assert store.rejection_counts() == {"Ada": 1}
    templates = store.templates()
    assert templates.names == ("Ada",) and templates.rejected_of(0).shape == (1, DIM)
    assert store.forget_rejections("Ada", "sha-party.jpg#1") == 1
    store.set_threshold(0.42, {"far": 0.001})
    assert store.calibrated_threshold == 0.42
    store.set_open_set(0.01, 0.02, {"people": 1})
    assert store.calibrated_threshold is None and store.settings()["fpir"] == "0.01"
    assert store.forget_skips("Ada", store.faces_of("Ada")) == 1 and store.skips("yunet") == {}


def test_a_restarted_server_is_reached_again(postgres, monkeypatch):
    """The statement that meets a lost connection fails, saying so; the next one
    connects again, and a write under way when the server went is not half there."""
    from facerec.storage.postgres import PostgresFaceStore

    monkeypatch.setenv("PGPASSWORD", postgres.password)
    store = PostgresFaceStore(postgres.database_url(f"store_{next(_databases)}"))
    try:
        store.add_faces([face("Ada", "a/1.jpg", 1)])
        postgres.stop()
        try:
            with pytest.raises(DatabaseError):
                store.add_faces([face("Bob", "b/1.jpg", 2)])
        finally:
            postgres.start()
        assert store.people() == [("Ada", 1)]
        assert store.add_faces([face("Bob", "b/1.jpg", 2)]) == [2]
        assert store.people() == [("Ada", 1), ("Bob", 1)]
    finally:
        store.close()


def test_one_owner_for_a_photo_claimed_at_once_through_two_connections(postgres,
                                                                        monkeypatch):
    """Two servers enrolling the same photo for different people at the same moment: the
    database decides, and exactly one of them owns it."""
    import threading

    from facerec.storage.postgres import PostgresFaceStore

    monkeypatch.setenv("PGPASSWORD", postgres.password)
    address = postgres.database_url(f"store_{next(_databases)}")
    stores = [PostgresFaceStore(address), PostgresFaceStore(address, create=False)]
    start, results = threading.Barrier(2), {}

    def claim(index: int, person: str) -> None:
        start.wait()
        results[person] = stores[index].claim_faces(
            [face(person, f"upload:{person}", index, sha256="the-same-photo")])

    try:
        for _ in range(10):
            threads = [threading.Thread(target=claim, args=(i, p))
                       for i, p in enumerate(("Ada", "Bob"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            kept = [person for person, (ids, _) in results.items() if ids]
            refused = [conflict.owner for _, conflicts in results.values()
                       for conflict in conflicts]
            assert len(kept) == 1 and refused == kept, results
            stores[0].remove_person(kept[0])
    finally:
        for store in stores:
            store.close()
