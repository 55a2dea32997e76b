"""The database commands through the real ``facerec`` entry point, including SIGKILL."""

from __future__ import annotations

import csv
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest
from cli import SCRIPT, assert_no_traceback, run_cli


@pytest.mark.slow
def test_gallery_then_probes(shared_faces, tmp_path):
    db = tmp_path / "db"
    done = run_cli("enroll", shared_faces / "gallery", "--db", db)
    assert done.returncode == 0, done.stderr
    assert "people 5" in done.stdout
    out = tmp_path / "annotated"
    done = run_cli("identify", shared_faces / "probes", "--db", db, "--json",
                   "--annotate", out)
    assert done.returncode == 0, done.stderr
    found = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        found[record["image"].rsplit("/", 1)[-1]] = sorted(f["person"] for f in record["faces"])
    with open(shared_faces / "probes.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            expected = sorted(row["expected_identities"].split(";"))
            assert found[row["image"].rsplit("/", 1)[-1]] == expected, row
    assert len(list(out.iterdir())) == len(found)


@pytest.mark.slow
def test_table_csv_people_and_errors(shared_faces, tmp_path):
    db = tmp_path / "db"
    missing = run_cli("identify", shared_faces / "probes", "--db", db)
    assert missing.returncode == 2 and "no face database" in missing.stderr
    assert_no_traceback(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run_cli("enroll", empty, "--db", db)
    assert nothing.returncode == 2 and "no photos" in nothing.stderr
    assert run_cli("enroll", shared_faces / "gallery", "--db", db).returncode == 0
    table = run_cli("identify", shared_faces / "probes" / "obama1.jpg", "--db", db)
    assert "obama" in table.stdout and table.returncode == 0
    said = json.loads(run_cli("identify", shared_faces / "probes" / "obama1.jpg", "--db", db,
                              "--json").stdout)
    assert f"identify names faces by: open-set threshold {said['threshold']:.3f}" \
        in table.stderr, table.stderr  # the rule that decided is shown
    rows = list(csv.DictReader(run_cli("identify", shared_faces / "probes" / "obama1.jpg",
                                       "--db", db, "--csv").stdout.splitlines()))
    assert rows[0]["person"] == "obama" and float(rows[0]["similarity"]) > 0.5
    assert float(rows[0]["threshold"]) == pytest.approx(said["threshold"], abs=1e-4)
    people = json.loads(run_cli("people", "--db", db, "--json").stdout)
    assert {p["name"] for p in people} == {"obama", "biden", "kit_harington", "rose_leslie",
                                           "alex_lacamoire"}
    renamed = run_cli("rename", "obama", "barack", "--db", db)
    assert renamed.returncode == 0
    assert run_cli("remove", "nobody", "--db", db).returncode == 2
    for command in (("rename", "barack", "unknown"), ("merge", "barack", "barack"),
                    ("enroll", "--name", "unknown", shared_faces / "probes" / "obama1.jpg")):
        refused = run_cli(*command, "--db", db)
        assert refused.returncode == 2 and ("reserved" in refused.stderr
                                            or "into itself" in refused.stderr), refused.stderr
        assert_no_traceback(refused)
    assert {p["name"] for p in json.loads(run_cli("people", "--db", db, "--json").stdout)} \
        >= {"barack", "biden"}


def lfw_folder(shared_faces, dest, people: int):
    chosen = sorted(p for p in (shared_faces / "lfw").iterdir()
                    if len(list(p.glob("*.jpg"))) >= 3)[:people]
    for person in chosen:
        shutil.copytree(person, dest / person.name)
    return sum(len(list(p.glob("*.jpg"))) for p in chosen)


def check_consistent(db):
    conn = sqlite3.connect(db / "faces.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    faces = conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
    conn.close()
    from facerec import FaceDB
    with FaceDB(db, create=False) as opened:
        assert opened.gallery.check() == (faces, faces)
    return faces


def wait_for_more_faces(db, count: int, process: subprocess.Popen, timeout: float = 300) -> None:
    """Until the database holds more than ``count`` faces (or the process ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if (db / "faces.sqlite").exists():
            conn = sqlite3.connect(db / "faces.sqlite", timeout=30)
            try:
                if conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0] > count:
                    return
            except sqlite3.OperationalError:  # the schema is not there yet
                pass
            finally:
                conn.close()
        time.sleep(0.05)


@pytest.mark.slow
def test_killed_enrollment_resumes(shared_faces, tmp_path, analyzer):
    known = tmp_path / "known"
    total = lfw_folder(shared_faces, known, people=30)
    db = tmp_path / "db"
    rng = random.Random(7)
    command = [str(SCRIPT), "enroll", str(known), "--db", str(db)]
    committed = 0
    for _ in range(3):  # each run is killed at a random moment after it committed something
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        wait_for_more_faces(db, committed, process)
        time.sleep(rng.uniform(0.0, 2.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        committed = check_consistent(db)
    assert committed > 0
    done = run_cli("enroll", known, "--db", db)
    assert done.returncode == 0, done.stderr
    assert check_consistent(db) == total
    last = done.stdout.split(":", 1)[1]
    added = int(last.split("added ")[1].split(",")[0])
    unchanged = int(last.split("unchanged ")[1].split(",")[0])
    assert added + unchanged == total and unchanged > 0
