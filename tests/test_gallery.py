"""The store's contract through the Gallery, on synthetic embeddings (no networks): names,
merges, ids that are never reused, and an index that changes in place."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from facerec.errors import DatabaseError, InvalidName, PersonNotFound
from facerec.storage.gallery import Gallery
from facerec.storage.store import NewFace
from facerec.types import Detection

DIM = 32
DETECTION = Detection((10.0, 10.0, 60.0, 70.0), ((20.0, 30.0),) * 5, 0.9)


def unit(rows: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def faces(person: str, vectors: np.ndarray, tag: str = "") -> list[NewFace]:
    return [NewFace(person, f"/photos/{person}{tag}/{i}.jpg", f"{person}{tag}-{i}", DETECTION,
                    0.9, v) for i, v in enumerate(vectors)]


@pytest.fixture
def gallery(tmp_path):
    with Gallery(tmp_path / "db") as opened:
        opened.add_faces(faces("ada", unit(3, 1)) + faces("bob", unit(2, 2)))
        yield opened


def test_merging_a_person_into_themself_is_refused(gallery):
    with pytest.raises(DatabaseError, match="into itself"):
        gallery.merge("ada", "ada")
    assert gallery.people() == [("ada", 3), ("bob", 2)]
    assert gallery.merge("bob", "ada") == 2
    assert gallery.people() == [("ada", 5)]


@pytest.mark.parametrize("name", ["unknown", "Unknown", " UNKNOWN "])
def test_the_word_for_a_stranger_is_reserved(gallery, name):
    with pytest.raises(InvalidName, match="reserved"):
        gallery.rename("ada", name)
    with pytest.raises(InvalidName, match="reserved"):
        gallery.add_faces(faces(name, unit(1, 3)))
    assert gallery.people() == [("ada", 3), ("bob", 2)]


def test_ids_are_never_given_twice(gallery):
    newest = gallery.add_faces(faces("cy", unit(1, 4)))[0]
    gallery.remove("cy")
    assert gallery.add_faces(faces("cy", unit(1, 5)))[0] > newest


def test_the_index_changes_in_place(gallery):
    query = unit(1, 9)
    gallery.search(query, 3)
    index = gallery._index.current()
    assert len(index) == 5
    generation = gallery._store.generation
    gallery.rename("bob", "rob")                     # no face touched: nothing logged
    gallery._store.set_meta("threshold", "0.5")
    assert gallery._store.generation == generation
    (new_id,) = gallery.add_faces(faces("cy", query))
    sims, ids, person_of = gallery.search(query, 1)
    assert ids[0, 0] == new_id and person_of[new_id] == "cy"
    assert gallery._index.current() is index and len(index) == 6   # the same index, grown
    gallery.remove("cy")
    assert new_id not in gallery.search(query, 6)[1]
    assert gallery._index.current() is index and gallery.check() == (5, 5)


def test_another_process_sees_changes_through_the_log(tmp_path, gallery):
    gallery.search(unit(1, 0), 1)
    with Gallery(gallery.path, create=False) as other:
        query = unit(1, 7)
        (new_id,) = other.add_faces(faces("dee", query))
        other.remove("bob")
    sims, ids, person_of = gallery.search(query, 2)
    assert ids[0, 0] == new_id and person_of[new_id] == "dee"
    assert gallery.check() == (4, 4)


def test_an_index_older_than_the_log_is_rebuilt(gallery):
    gallery.search(unit(1, 0), 1)
    gallery.close()
    with Gallery(gallery.path, create=False) as other:
        other.add_faces(faces("eve", unit(2, 8)))
        other._store.prune_changes(other._store.generation)
        other._index._unsaved = 0  # leave the saved index behind the pruned log
    with Gallery(gallery.path, create=False) as reopened:
        assert reopened.check() == (7, 7)


def test_missing_people_are_named(gallery):
    with pytest.raises(PersonNotFound, match="zed"):
        gallery.remove("zed")
    with pytest.raises(PersonNotFound):
        gallery.merge("zed", "ada")


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from facerec.storage.gallery import Gallery
    from facerec.storage.store import NewFace
    from facerec.types import Detection
    det = Detection((1.0, 1.0, 9.0, 9.0), ((2.0, 2.0),) * 5, 0.9)
    rng = np.random.default_rng(int(sys.argv[2]))
    with Gallery(sys.argv[1]) as gallery:
        for step in range(100000):
            v = rng.standard_normal(32).astype(np.float32)
            v /= np.linalg.norm(v)
            gallery.add_faces([NewFace("p%d" % (step % 7), "/k/%s-%d" % (sys.argv[2], step),
                                       "h%d" % step, det, 0.9, v)])
            if step % 3 == 2:
                gallery.remove("p%d" % (step % 7))
            gallery.search(v[None], 4)
            if step == 5:
                print("running", flush=True)
""")


def test_a_kill_during_in_place_updates_leaves_a_consistent_database(tmp_path):
    """SIGKILL a process that adds, removes and searches (so its index changes in place
    and is saved now and then); the database opens and agrees with its index."""
    path = tmp_path / "db"
    for run in range(3):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(run)],
                                  stdout=subprocess.PIPE, text=True, env=os.environ)
        assert writer.stdout.readline().strip() == "running"
        time.sleep(0.3 + 0.4 * run)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        with Gallery(path, create=False) as gallery:
            in_sqlite, in_index = gallery.check()
            assert in_sqlite == in_index > 0
            ids, vectors = next(gallery._store.embedding_batches())[1:]
            found = gallery.search(vectors[-1:], 1)[1]
            assert found[0, 0] == ids[-1]


def test_an_outgrown_index_is_rebuilt_in_the_background_and_swapped_in(tmp_path, monkeypatch):
    from facerec.storage import index as index_module

    monkeypatch.setattr(index_module, "EXACT_LIMIT", 20)
    with Gallery(tmp_path / "db") as gallery:
        gallery.add_faces(faces("ada", unit(10, 1)))
        gallery.search(unit(1, 0), 1)
        assert gallery._index.current().kind == "exact"
        query = unit(1, 11)
        gallery.add_faces(faces("bob", unit(60, 2)) + faces("cy", query))
        old = gallery._index.current()          # caught up in place, and found outgrown
        assert old.kind == "exact" and len(old) == 71 and old.stale
        assert gallery.search(query, 1)[2][int(gallery.search(query, 1)[1][0, 0])] == "cy"
        deadline = time.monotonic() + 30
        while gallery._index.current().kind != "approximate" and time.monotonic() < deadline:
            time.sleep(0.05)
        swapped = gallery._index.current()
        assert swapped is not old and swapped.kind == "approximate" and len(swapped) == 71
        sims, ids, person_of = gallery.search(query, 1)
        assert person_of[int(ids[0, 0])] == "cy"


def test_a_failed_background_rebuild_is_not_retried_on_every_search(tmp_path, monkeypatch,
                                                                     caplog):
    """An approximate index cannot be built over 30-value embeddings (its quantiser
    splits vectors into 32 parts): the rebuild fails for real. Searches go on with the
    exact index, the failure is said once, and no second rebuild starts before the wait."""
    from facerec.storage import index as index_module

    monkeypatch.setattr(index_module, "EXACT_LIMIT", 20)
    vectors = np.random.default_rng(5).standard_normal((71, 30)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with caplog.at_level(logging.DEBUG, logger="facerec"), Gallery(tmp_path / "db") as gallery:
        gallery.add_faces(faces("ada", vectors[:10]))
        gallery.search(vectors[:1], 1)                 # an exact index, then it outgrows it
        gallery.add_faces(faces("ada", vectors[10:], "more"))
        started = time.monotonic()
        while time.monotonic() - started < 3:
            sims, ids, person_of = gallery.search(vectors[7:8], 1)
            assert person_of[int(ids[0, 0])] == "ada" and sims[0, 0] > 0.99
            time.sleep(0.01)
    starts = [r for r in caplog.records if "rebuilding it in the background" in r.message]
    failures = [r for r in caplog.records if r.levelno == logging.WARNING
                and "rebuilding the face index failed" in r.message]
    assert len(starts) == 1 and len(failures) == 1, caplog.text


def test_a_rebuild_under_way_when_a_person_is_erased_never_saves_their_faces(tmp_path,
                                                                             monkeypatch):
    """The background rebuild read its snapshot before the erasure: what it built holds the
    erased faces, so it is thrown away instead of being caught up and saved."""
    import threading

    import faiss

    from facerec.storage import index as index_module
    from facerec.storage import live_index
    from facerec.storage.index import FaceIndex

    monkeypatch.setattr(index_module, "EXACT_LIMIT", 20)
    snapshot_read, finish = threading.Event(), threading.Event()
    real_build = live_index.build

    def held_build(store, dim):
        built = real_build(store, dim)
        if threading.current_thread().name == "facerec-index-rebuild":
            snapshot_read.set()
            finish.wait(10)
        return built

    monkeypatch.setattr(live_index, "build", held_build)
    with Gallery(tmp_path / "db") as gallery:
        gallery.add_faces(faces("ada", unit(10, 1)))
        gallery.search(unit(1, 0), 1)
        gallery.add_faces(faces("bob", unit(60, 2)))
        gallery.search(unit(1, 0), 1)  # outgrown: the rebuild starts
        assert snapshot_read.wait(10)
        bob = {face.id for face in gallery.faces_of("bob")}
        gallery.remove("bob")
        finish.set()
        gallery._index._rebuild.join(10)
        assert set(gallery.search(unit(1, 3), 5)[2].values()) == {"ada"}
        saved, _ = FaceIndex.load(tmp_path / "db" / "faces.index", DIM)  # as it is now
        held = set(faiss.vector_to_array(saved.index.id_map).tolist())
        assert held and not held & bob


def test_an_erasure_as_a_rebuild_starts_leaves_the_rebuild_whole(tmp_path, monkeypatch,
                                                                  caplog):
    """An erasure that drops the index just as a background rebuild starts: the rebuild
    still knows the embeddings' length (it once read it from the dropped index, and
    failed), and what it built is thrown away, holding the erased faces."""
    import threading

    from facerec.storage import index as index_module
    from facerec.storage.store import FaceStore

    monkeypatch.setattr(index_module, "EXACT_LIMIT", 20)
    armed, started, go = threading.Event(), threading.Event(), threading.Event()
    real_reopened = FaceStore.reopened

    def held(store):
        if threading.current_thread().name == "facerec-index-rebuild" and armed.is_set():
            started.set()
            go.wait(10)
        return real_reopened(store)

    monkeypatch.setattr(FaceStore, "reopened", held)
    with caplog.at_level(logging.DEBUG, logger="facerec"), Gallery(tmp_path / "db") as gallery:
        gallery.add_faces(faces("ada", unit(10, 1)))
        gallery.search(unit(1, 0), 1)
        gallery.add_faces(faces("bob", unit(60, 2)))
        gallery.search(unit(1, 0), 1)  # outgrown the exact kind: rebuilt approximate
        gallery._index._rebuild.join(10)
        gallery.search(unit(1, 0), 1)
        assert gallery._index.current().kind == "approximate"
        armed.set()
        gallery.add_faces(faces("cy", unit(400, 4)))
        gallery.search(unit(1, 0), 1)  # outgrown again: a rebuild starts, held before it
        assert started.wait(10)
        gallery.remove("bob")  # an approximate index cannot delete: dropped
        go.set()
        gallery._index._rebuild.join(10)
        assert "bob" not in set(gallery.search(unit(1, 3), 5)[2].values())
    assert "rebuilding the face index failed" not in caplog.text
    assert "dropped a rebuilt index that holds erased faces" in caplog.text


def test_threads_may_share_one_gallery(tmp_path):
    """The Gallery serializes its own calls: writers and readers on several threads at once
    (as a server's routes are) lose nothing and raise nothing, with no lock of their own."""
    from concurrent.futures import ThreadPoolExecutor

    with Gallery(tmp_path / "db") as gallery:
        gallery.add_faces(faces("ada", unit(2, 1)))

        def work(worker: int) -> None:
            for round_ in range(25):
                gallery.add_faces(faces(f"p{worker}", unit(1, worker * 100 + round_),
                                        f"-{round_}"))
                gallery.search(unit(1, round_), 3)
                gallery.counts()
                if round_ % 5 == 4:
                    gallery.remove_face(gallery.faces_of(f"p{worker}")[0].id)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(work, range(4)))
        assert gallery.counts() == (5, 2 + 4 * (25 - 5))
        assert gallery.check() == (82, 82)
