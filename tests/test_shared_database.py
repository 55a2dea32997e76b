"""One face database on PostgreSQL shared by several galleries, each with its own
connection and its own index in memory, as processes on several machines have them: what
one enrolls or removes, every other answers with at its next search."""

from __future__ import annotations

import itertools
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli import assert_no_traceback, run_cli, run_cli_process

from facerec import Gallery, LibraryNotFound, Recognizer
from facerec.library import Library
from facerec.storage.rows import NewFace
from facerec.types import Detection

_databases = itertools.count()


@pytest.fixture
def address(postgres, monkeypatch) -> str:
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    return postgres.database_url(f"shared_{next(_databases)}")


@pytest.fixture
def two(address) -> Iterator[tuple[Gallery, Gallery]]:
    first, second = Gallery(address), Gallery(address, create=False)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def faces(person: str, seeds: range) -> list[NewFace]:
    detection = Detection.of((0, 0, 100, 100), [(30, 40), (70, 40), (50, 60), (35, 80),
                                                 (65, 80)], 0.9)
    out = []
    for seed in seeds:
        vector = np.random.default_rng(seed).standard_normal(16).astype(np.float32)
        out.append(NewFace(person, f"{person}/{seed}.jpg", f"{person}-{seed}", detection,
                           0.8, vector / np.linalg.norm(vector)))
    return out


def nearest(gallery: Gallery, face: NewFace) -> str | None:
    _, ids, people = gallery.search(face.embedding[None], 1)
    return people.get(int(ids[0][0]))


def test_what_one_enrolls_the_other_answers_at_once(two):
    first, second = two
    ada = faces("Ada", range(3))
    first.add_faces(ada)
    assert nearest(second, ada[1]) == "Ada" and second.check() == (3, 3)
    bob = faces("Bob", range(10, 12))
    second.add_faces(bob)
    assert nearest(first, bob[0]) == "Bob" and first.people() == [("Ada", 3), ("Bob", 2)]


def test_what_one_removes_is_gone_from_every_index(two):
    first, second = two
    ada, bob = faces("Ada", range(3)), faces("Bob", range(10, 12))
    first.add_faces(ada + bob)
    assert nearest(second, ada[0]) == "Ada"  # the second index holds Ada now
    erased = first.remove("Ada")
    assert len(erased.faces) == 3 and erased.log_truncated  # the tables vacuumed
    assert nearest(second, ada[0]) == "Bob"  # gone from the second one's memory
    assert second.check() == (2, 2) and second.people() == [("Bob", 2)]


def wait_for(condition, seconds: float) -> float:
    """Seconds until ``condition()`` held, polling; fails after ``seconds``."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"not within {seconds} s"
        time.sleep(0.01)
    return time.monotonic() - start


def test_a_following_process_forgets_a_removal_without_being_asked(two):
    """A server that answers nothing still drops a face removed elsewhere from its
    memory within a second: it is told by the database's notifications (its poll, the
    fallback, is set far longer here)."""
    first, second = two
    ada, bob = faces("Ada", range(3)), faces("Bob", range(10, 12))
    first.add_faces(ada + bob)
    assert nearest(second, ada[0]) == "Ada" and second.templates() is not None
    second.follow_changes(poll=30.0)
    first.remove("Ada")
    generation = first.generation
    assert wait_for(lambda: second.held_generation == generation, 1.0) < 1.0
    assert second._templates is None  # the templates held Ada's faces: dropped
    first.add_faces(faces("Cy", range(20, 22)))
    generation = first.generation
    assert wait_for(lambda: second.held_generation == generation, 1.0) < 1.0
    assert nearest(second, ada[0]) != "Ada"


def test_a_new_process_builds_its_index_from_the_database(address):
    with Gallery(address) as first:
        first.add_faces(faces("Ada", range(20)))
        first.remove_sources(["Ada/3.jpg"])
    with Gallery(address, create=False) as later:
        assert later.check() == (19, 19)
        assert nearest(later, faces("Ada", range(5, 6))[0]) == "Ada"


def test_what_needs_a_folder_says_so(address):
    with Gallery(address) as gallery:
        assert gallery.path is None and gallery.address == address
        with pytest.raises(LibraryNotFound, match="lives in a database folder"):
            Library(gallery)


def test_people_enrolled_through_one_recognizer_are_named_by_another(address, analyzer,
                                                                    samples):
    with Recognizer.open(address, analyzer) as front_desk, \
            Recognizer.open(address, analyzer, create=False) as camera:
        front_desk.enroll(name="obama", paths=[samples / "obama.jpg"])
        [match] = camera.identify(samples / "obama2.jpg")
        assert match.person == "obama"
        front_desk.gallery.remove("obama")
        [match] = camera.identify(samples / "obama2.jpg")
        assert match.person != "obama"


def test_the_commands_take_a_postgresql_database(address, postgres, samples, model_paths):
    """--db postgresql://... wherever people and faces are all a command needs; what
    keeps files in a database folder says it needs one. The password never goes in the
    address."""
    env = postgres.environment()
    done = run_cli("enroll", "--db", address, "--name", "obama", samples / "obama.jpg",
                   env=env)
    assert done.returncode == 0, done.stderr
    elsewhere = run_cli_process("identify", "--db", address, "--json", samples / "obama2.jpg",
                                env=env)  # another process, its own index
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert json.loads(elsewhere.stdout.splitlines()[0])["faces"][0]["person"] == "obama"
    assert "obama\t1" in run_cli("people", "--db", address, env=env).stdout
    checked = run_cli("check", "--db", address, env=env)
    assert checked.returncode == 0 and "reached: 1 people, 1 faces, 1 in the index" in \
        checked.stdout, checked.stderr
    for command, says in ((["repair", "--out", "x"], "facerec repair works on a database "
                                                      "folder"),
                          (["scan", str(samples)], "lives in a database folder")):
        refused = run_cli(*command, "--db", address, env=env)
        assert refused.returncode == 2 and says in refused.stderr, refused.stderr
        assert_no_traceback(refused)
    with_password = address.replace("facerec@", f"facerec:{postgres.password}@")
    refused = run_cli("people", "--db", with_password)
    assert refused.returncode == 2 and "PGPASSWORD" in refused.stderr
    assert postgres.password not in refused.stderr
    assert run_cli("remove", "obama", "--db", address, env=env).returncode == 0
    assert run_cli("people", "--db", address, env=env).stdout.strip() in ("", "no one enrolled")


def test_the_naming_commands_work_on_postgresql(address, postgres, samples, model_paths):
    """calibrate, verify against its threshold, correct, rename and merge on a
    PostgreSQL database, each seen by the next command, a process of its own."""
    env = postgres.environment()

    def ok(*args: object) -> str:
        done = run_cli(*args, "--db", address, env=env)
        assert done.returncode == 0, (args, done.stderr)
        assert_no_traceback(done)
        return done.stdout

    ok("enroll", "--name", "obama", samples / "obama.jpg", samples / "obama2.jpg")
    ok("enroll", "--name", "biden", samples / "biden.jpg")
    ok("calibrate", "--set", "0.4")
    verified = json.loads(ok("verify", "--json", samples / "obama.jpg", samples / "obama3.jpg"))
    assert verified["threshold"] == pytest.approx(0.4) and verified["same_person"]
    corrected = json.loads(ok("correct", "--not", "biden", "--json", samples / "obama3.jpg"))
    assert corrected, corrected
    ok("rename", "obama", "Barack Obama")
    ok("merge", "biden", "Barack Obama")  # a mistake, made on purpose: one person now
    people = ok("people")
    assert "Barack Obama\t3" in people and "biden" not in people
    named = run_cli_process("identify", "--db", address, "--json", samples / "obama2.jpg",
                            env=env)
    assert json.loads(named.stdout.splitlines()[0])["faces"][0]["person"] == "Barack Obama"


def test_a_database_moves_to_postgresql_and_back_unchanged(address, postgres, tmp_path):
    """facerec migrate, both ways, from a database of every kind of row (the current
    schema fixture): people, faces with their ids, skips, rejections, settings."""
    folder = tmp_path / "db"
    folder.mkdir()
    fixture = sorted((Path(__file__).parent / "fixtures" / "schema").glob("faces-v*.sqlite"))
    shutil.copyfile(fixture[-1], folder / "faces.sqlite")
    env = postgres.environment()
    there = run_cli("migrate", "--from", folder, "--to", address, env=env)
    assert there.returncode == 0, there.stderr
    assert "copied 2 people, 5 faces, 1 skipped photos, 1 faces marked" in there.stdout
    back = run_cli("migrate", "--from", address, "--to", tmp_path / "back", env=env)
    assert back.returncode == 0, back.stderr
    with Gallery(folder) as before, Gallery(tmp_path / "back") as after, \
            Gallery(address) as shared:
        for copy in (after, shared):
            assert copy.people() == before.people() and copy.model == before.model
            assert copy.settings() == before.settings()
            assert copy.rejection_counts() == before.rejection_counts()
            assert [(f.id, f.person, f.source, f.detection) for f in copy.all_faces()] == \
                [(f.id, f.person, f.source, f.detection) for f in before.all_faces()]
            assert copy.check() == before.check()
            ada = before.faces_of("Ada Lovelace")[0]
            assert nearest(copy, ada) == "Ada Lovelace"
    again = run_cli("migrate", "--from", folder, "--to", address, env=env)
    assert again.returncode == 2 and "already holds people" in again.stderr


def test_an_erased_person_leaves_no_bytes_in_the_servers_files(address, postgres):
    """After a removal nothing of the person is left in the database's table files: not
    the embedding, the photo's digest, the source or the name (the server's write-ahead
    log is out of reach, and said so)."""
    secret = np.random.default_rng(99).standard_normal(16).astype(np.float32)
    secret /= np.linalg.norm(secret)
    detection = Detection.of((0, 0, 100, 100), [(30, 40), (70, 40), (50, 60), (35, 80),
                                                 (65, 80)], 0.9)
    erased = NewFace("Quillon Erasewell", "secret/quillon.jpg", "sha-of-quillons-photo",
                     detection, 0.8, secret)
    with Gallery(address) as gallery:
        gallery.add_faces(faces("Bob", range(30)) + [erased])
        gallery.keep_thumbnail("sha-of-quillons-photo", b"\xff\xd8quillon-crop")
        gallery.reject("Bob", NewFace("Bob", "party.jpg#2", "sha-party", detection, 0.7,
                                      secret))
        gallery.remove("Quillon Erasewell")
        gallery.forget_rejections("Bob", "sha-party")  # the same face, said not Bob

    needles = {"embedding": secret.tobytes()[:48], "digest": b"sha-of-quillons-photo",
               "source": b"secret/quillon.jpg", "name": b"Quillon Erasewell",
               "crop": b"quillon-crop"}
    found = [f"{path.relative_to(postgres.data)} holds the {what}"
             for path in (postgres.data / "base").rglob("*") if path.is_file()
             for what, needle in needles.items() if needle in path.read_bytes()]
    assert not found, found
