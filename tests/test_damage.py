"""A database damaged on disk, or on a read-only medium, through the real command line."""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from cli import SCRIPT, assert_no_traceback, run_cli

from facerec.storage.gallery import Gallery
from facerec.storage.store import NewFace
from facerec.types import Detection

DETECTION = Detection((10.0, 10.0, 60.0, 70.0), ((20.0, 30.0),) * 5, 0.9)


def synthetic_db(path, people: int = 40, each: int = 50) -> None:
    rng = np.random.default_rng(0)
    with Gallery(path) as gallery:
        gallery._store.set_meta("model", "sface-2021dec")
        for p in range(people):
            vectors = rng.standard_normal((each, 128)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            gallery.add_faces([NewFace(f"person{p}", f"/photos/{p}/{i}.jpg", f"{p}-{i}",
                                       DETECTION, 0.9, v) for i, v in enumerate(vectors)])


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def overwrite_middle_pages(sqlite_file, pages: int, seed: int) -> None:
    """Overwrite ``pages`` 4 KiB pages in the middle of a file with noise."""
    data = bytearray(sqlite_file.read_bytes())
    page = 4096
    middle = (len(data) // page // 2) * page
    data[middle:middle + pages * page] = np.random.default_rng(seed).integers(
        0, 256, pages * page, dtype=np.uint8).tobytes()
    sqlite_file.write_bytes(bytes(data))


@pytest.fixture
def damaged(tmp_path):
    """A 2,000-face database with three pages in its middle overwritten by noise."""
    path = tmp_path / "db"
    synthetic_db(path)
    overwrite_middle_pages(path / "faces.sqlite", 3, seed=1)
    return path


def test_damage_is_reported_and_writes_are_refused(damaged):
    before = digest(damaged / "faces.sqlite")
    for command in (("people",), ("remove", "person3"), ("rename", "person3", "x")):
        done = run_cli(*command, "--db", damaged)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "damaged" in done.stderr and "facerec repair" in done.stderr
        assert_no_traceback(done)
    assert digest(damaged / "faces.sqlite") == before


def test_check_and_repair_save_what_is_readable(damaged, tmp_path):
    checked = run_cli("check", "--db", damaged)
    assert checked.returncode == 2 and "damaged" in checked.stdout
    repaired = tmp_path / "repaired"
    done = run_cli("repair", "--db", damaged, "--out", repaired)
    assert done.returncode in (0, 1), done.stderr
    assert_no_traceback(done)
    with Gallery(repaired, create=False) as gallery:
        saved = sum(count for _, count in gallery.people())
        assert 1500 < saved <= 2000
        assert gallery.model == "sface-2021dec" and gallery.check() == (saved, saved)
    assert run_cli("check", "--db", repaired).returncode == 0


def test_a_repair_killed_midway_leaves_no_database_that_looks_sound(damaged, tmp_path):
    """The repair process is killed (SIGKILL) after its first batch of faces: the target
    holds no database, `check` says so, and the next run completes the copy."""
    repaired = tmp_path / "repaired"
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from facerec.storage import repair
        from facerec.storage.gallery import Gallery
        calls = 0
        original = Gallery.add_faces
        def add_then_die(self, *args, **kwargs):
            global calls
            calls += 1
            if calls == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, *args, **kwargs)
        Gallery.add_faces = add_then_die
        repair.salvage(Path({str(damaged)!r}), Path({str(repaired)!r}))
        """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (repaired / "faces.sqlite").exists()
    checked = run_cli("check", "--db", repaired)
    assert checked.returncode == 2 and "sound" not in checked.stdout, checked.stdout
    assert_no_traceback(checked)
    done = run_cli("repair", "--db", damaged, "--out", repaired)
    assert done.returncode in (0, 1), done.stderr
    with Gallery(repaired, create=False) as gallery:
        assert 1500 < sum(count for _, count in gallery.people()) <= 2000
    assert not any(p.name.startswith(".repair") for p in repaired.iterdir())


@pytest.mark.slow
def test_a_read_only_database_can_be_read(tmp_path, analyzer, samples):
    """On a read-only mount (made in a user namespace), people and identify work, and a
    write says the database is read-only."""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs unshare with user and mount namespaces to make a read-only mount")
    source, mounted = tmp_path / "db", tmp_path / "ro"
    mounted.mkdir()
    done = run_cli("enroll", "--db", source, "--name", "obama", samples / "obama.jpg")
    assert done.returncode == 0, done.stderr

    def inside(*args: object) -> subprocess.CompletedProcess:
        command = " ".join(f"'{a}'" for a in (SCRIPT, *args))
        script = (f"mount --bind '{source}' '{mounted}' && "
                  f"mount -o remount,bind,ro '{mounted}' && {command}")
        return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True,
                              text=True, timeout=300)

    people = inside("people", "--db", mounted)
    assert people.returncode == 0 and people.stdout.startswith("obama"), people.stderr
    found = inside("identify", "--db", mounted, samples / "obama2.jpg", "--device", "cpu")
    assert found.returncode == 0 and "obama" in found.stdout, found.stderr
    refused = inside("remove", "obama", "--db", mounted)
    assert refused.returncode == 2 and "read-only" in refused.stderr
    for done in (people, found, refused):
        assert_no_traceback(done)


@pytest.mark.slow
def test_a_damaged_library_is_found_by_check_and_set_aside_by_repair(shared_faces, tmp_path,
                                                                      model_paths):
    """`check` covers the photo library too, and the damage message sends the user to a
    command that deals with it: `repair --library` sets it aside, and a scan builds it
    again from the photos."""
    photos, db = tmp_path / "photos", tmp_path / "db"
    shutil.copytree(shared_faces / "lfw" / "Hugo_Chavez", photos)
    assert run_cli("enroll", shared_faces / "gallery", "--db", db).returncode == 0
    assert run_cli("scan", photos, "--db", db).returncode == 0
    library = db / "library.sqlite"
    overwrite_middle_pages(library, 2, seed=2)
    checked = run_cli("check", "--db", db)
    assert checked.returncode == 2 and "library.sqlite" in checked.stdout
    assert "repair --db" in checked.stderr and "--library" in checked.stderr
    assert_no_traceback(checked)
    repaired = run_cli("repair", "--db", db, "--library")
    assert repaired.returncode == 0 and "set aside" in repaired.stdout, repaired.stderr
    assert (db / "library.sqlite.damaged").is_file() and not library.exists()
    again = run_cli("scan", photos, "--db", db)
    assert again.returncode == 0, again.stderr
    assert run_cli("check", "--db", db).returncode == 0
