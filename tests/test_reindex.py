"""Moving a database to another model: every face embedded again from its photo, switched
only when complete, and a kill at any moment leaves a whole database."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import pytest
from cli import SCRIPT, assert_no_traceback, run_cli

from facerec import FaceAnalyzer
from facerec.recognition.recognizer import Recognizer
from facerec.storage.gallery import Gallery


@pytest.fixture
def enrolled(tmp_path, analyzer, samples):
    """A SFace database of obama (2 photos) and biden, made from copies of the samples."""
    known = tmp_path / "known"
    (known / "obama").mkdir(parents=True)
    for name in ("obama.jpg", "obama2.jpg"):
        shutil.copy(samples / name, known / "obama" / name)
    shutil.copy(samples / "biden.jpg", known / "biden.jpg")
    with Recognizer.open(tmp_path / "db", analyzer) as recognizer:
        assert recognizer.enroll(known).added == 3
    return tmp_path / "db", known


def test_reindex_moves_every_face_to_the_new_model(enrolled, mbf_path, samples):
    db, _ = enrolled
    done = run_cli("reindex", "--db", db, "--embedder", "w600k-mbf", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert_no_traceback(done)
    with Gallery(db, create=False) as gallery:
        assert gallery.model == "w600k-mbf" and gallery.people() == [("biden", 1), ("obama", 2)]
        assert gallery.check() == (3, 3)
    mbf = FaceAnalyzer("cpu", embedder="w600k-mbf")
    with Recognizer.open(db, mbf, create=False) as recognizer:
        assert recognizer.identify(samples / "obama3.jpg")[0].person == "obama"
    (backup,) = db.glob("faces.sqlite.*.bak")
    assert "sface" in backup.name


@pytest.mark.slow
def test_a_missing_photo_stops_the_switch_unless_dropped(enrolled, mbf_path):
    db, known = enrolled
    (known / "biden.jpg").unlink()
    refused = run_cli("reindex", "--db", db, "--embedder", "w600k-mbf", "--device", "cpu")
    assert refused.returncode == 2 and "not switched" in refused.stderr
    assert "biden.jpg" in refused.stderr
    with Gallery(db, create=False) as gallery:
        assert gallery.model == "sface-2021dec" and gallery.check() == (3, 3)
    assert not list(db.glob("faces.sqlite.reindex*"))
    dropped = run_cli("reindex", "--db", db, "--embedder", "w600k-mbf", "--device", "cpu",
                      "--drop-missing")
    assert dropped.returncode == 1, dropped.stderr
    with Gallery(db, create=False) as gallery:
        assert gallery.model == "w600k-mbf" and gallery.people() == [("obama", 2)]


@pytest.mark.slow
def test_a_killed_reindex_leaves_a_whole_database(enrolled, mbf_path):
    db, _ = enrolled
    for delay in (1.0, 2.5, 4.0):
        process = subprocess.Popen([str(SCRIPT), "reindex", "--db", str(db), "--embedder",
                                    "w600k-mbf", "--device", "cpu"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        with Gallery(db, create=False) as gallery:
            assert gallery.model in ("sface-2021dec", "w600k-mbf")
            assert gallery.check() == (3, 3)
            switched = gallery.model == "w600k-mbf"
        if switched:
            break
