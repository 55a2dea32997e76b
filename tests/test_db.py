"""The face database through its Python API: enroll, identify, incremental runs, people,
thresholds, photo ownership, bad input."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest
from PIL import Image

from facerec import DatabaseError, FaceDB
from facerec.errors import CalibrationError, ModelError
from facerec.names import UNKNOWN
from facerec.results import Threshold


@pytest.fixture
def known(tmp_path, samples):
    """known/obama/{obama,obama2}.jpg and known/biden.jpg, copied from the samples."""
    root = tmp_path / "known"
    (root / "obama").mkdir(parents=True)
    shutil.copy(samples / "obama.jpg", root / "obama" / "obama.jpg")
    shutil.copy(samples / "obama2.jpg", root / "obama" / "obama2.jpg")
    shutil.copy(samples / "biden.jpg", root / "biden.jpg")
    return root


@pytest.fixture
def db(tmp_path, analyzer):
    with FaceDB(tmp_path / "db", analyzer) as database:
        yield database


def test_enroll_then_identify(db, known, samples):
    report = db.enroll(known)
    assert (report.added, report.skipped, report.people) == (3, [], {"obama", "biden"})
    assert db.gallery.people() == [("biden", 1), ("obama", 2)]
    assert db.gallery.check() == (3, 3)
    matches = db.identify(samples / "obama3.jpg", top_k=2)
    assert len(matches) == 1 and matches[0].person == "obama"
    assert [c.person for c in matches[0].candidates] == ["obama", "biden"]
    assert matches[0].similarity >= db.threshold().value > matches[0].candidates[1].similarity


def test_unknown_below_threshold(db, known, samples):
    db.enroll(known)
    (match,) = db.identify(samples / "obama3.jpg", threshold=0.99)
    assert match.person == UNKNOWN and match.candidates[0].person == "obama"


def test_incremental_runs(db, known, samples):
    db.enroll(known)
    again = db.enroll(known)
    assert (again.added, again.replaced, again.unchanged) == (0, 0, 3)
    shutil.copy(samples / "obama3.jpg", known / "obama" / "obama2.jpg")  # content changed
    (known / "biden.jpg").unlink()
    changed = db.enroll(known, sync=True)
    assert (changed.replaced, changed.removed, changed.unchanged) == (1, 1, 1)
    assert db.gallery.people() == [("obama", 2)]
    assert db.gallery.check() == (2, 2)


def test_photos_without_or_with_several_faces(db, tmp_path, samples, shared_faces):
    root = tmp_path / "people"
    (root / "group").mkdir(parents=True)
    Image.new("RGB", (300, 200), (90, 120, 90)).save(root / "group" / "wall.png")
    shutil.copy(shared_faces / "photos" / "two_people.jpg", root / "group" / "two.jpg")
    report = db.enroll(root)
    assert [s.reason for s in report.skipped] == ["no face found"]
    assert report.added == 1 and "2 faces found" in report.several_faces[0].reason
    strict = FaceDB(tmp_path / "strict", db.analyzer).enroll(root, strict=True)
    assert strict.added == 0 and len(strict.skipped) == 2


def test_skipped_photos_are_not_tried_again_until_something_changes(db, known, samples):
    Image.new("RGB", (300, 200), (90, 120, 90)).save(known / "obama" / "wall.png")
    (known / "obama" / "notes.jpg").write_text("not an image")
    first = db.enroll(known)
    reasons = sorted(s.reason for s in first.skipped)
    assert reasons[0] == "no face found" and reasons[1].startswith("not an image")
    generation = db.gallery._store.generation
    again = db.enroll(known)
    assert all(s.reason.endswith("(unchanged since the last run)") for s in again.skipped)
    assert len(again.skipped) == 2 and again.unchanged == 3
    assert db.gallery._store.generation == generation  # remembering skips leaves the index alone
    lenient = db.enroll(known, strict=True)  # other settings: tried again
    assert not any("last run" in s.reason for s in lenient.skipped)
    shutil.copy(samples / "obama3.jpg", known / "obama" / "wall.png")  # now it shows a face
    fixed = db.enroll(known)
    assert fixed.added == 1 and len(fixed.skipped) == 1
    assert db.enroll(known).unchanged == 4


def test_bad_files_are_skipped_with_reasons(db, known, tmp_path):
    (known / "obama" / "empty.jpg").write_bytes(b"")
    (known / "obama" / "notes.png").write_text("not an image")
    (known / "obama" / "cut.jpg").write_bytes((known / "obama" / "obama.jpg").read_bytes()[:3000])
    (known / "Zoë Ångström").mkdir()
    shutil.copy(known / "biden.jpg", known / "Zoë Ångström" / "photo.jpg")
    report = db.enroll(known)
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    assert reasons["empty.jpg"] == "empty file"
    assert "not an image" in reasons["notes.png"]
    assert "truncated" in reasons["cut.jpg"] or "corrupt" in reasons["cut.jpg"]
    assert ("Zoë Ångström", 1) in db.gallery.people()


def test_manage_people(db, known):
    db.enroll(known)
    db.gallery.rename("biden", "joe")
    with pytest.raises(DatabaseError, match="already exists"):
        db.gallery.rename("joe", "obama")
    assert db.gallery.merge("joe", "obama") == 1
    assert db.gallery.people() == [("obama", 3)]
    assert len(db.gallery.remove("obama").faces) == 3
    assert db.gallery.people() == [] and db.gallery.check() == (0, 0)
    with pytest.raises(DatabaseError, match="no person"):
        db.gallery.remove("nobody")


def test_stale_or_broken_index_is_rebuilt(tmp_path, analyzer, known, samples):
    path = tmp_path / "db"
    with FaceDB(path, analyzer) as db:
        db.enroll(known)
    (path / "faces.index").write_bytes(b"garbage")
    with FaceDB(path, analyzer, create=False) as db:
        assert db.gallery.check() == (3, 3)
        assert db.identify(samples / "obama3.jpg")[0].person == "obama"


def test_refuses_to_mix_models(tmp_path, analyzer, known):
    path = tmp_path / "db"
    with FaceDB(path, analyzer) as db:
        db.enroll(known)
    conn = sqlite3.connect(path / "faces.sqlite")
    conn.execute("UPDATE meta SET value = 'another-model' WHERE key = 'model'")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="another-model embeddings, not sface-2021dec; "
                       "they cannot be mixed"):
        FaceDB(path, analyzer)
    with FaceDB(path) as db, pytest.raises(ModelError, match="unknown model"):
        db.enroll(known)  # built for the database's model, which the registry lacks


def test_missing_database_and_not_a_database(tmp_path, analyzer):
    with pytest.raises(DatabaseError, match="no face database"):
        FaceDB(tmp_path / "nothing", analyzer, create=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "faces.sqlite").write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(DatabaseError, match="not a facerec database"):
        FaceDB(tmp_path / "bad", analyzer)


def test_mislabeled_photo_is_flagged(db, tmp_path, samples):
    root = tmp_path / "people"
    (root / "obama").mkdir(parents=True)
    (root / "biden").mkdir()
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg"):
        shutil.copy(samples / name, root / "obama" / name)
    Image.open(samples / "biden.jpg").save(root / "obama" / "mistake.jpg", quality=90)
    shutil.copy(samples / "biden.jpg", root / "biden" / "biden.jpg")
    report = db.enroll(root)
    flagged = [s.path for s in report.suspicious]
    assert len(flagged) == 1 and flagged[0].endswith("mistake.jpg")
    # the names read as names, never as numpy's repr
    assert "but closer to 'biden'" in report.suspicious[0].reason


@pytest.mark.slow
def test_calibration_on_lfw(tmp_path, analyzer, shared_faces):
    root = tmp_path / "lfw"
    people = sorted(p for p in (shared_faces / "lfw").iterdir()
                    if len(list(p.glob("*.jpg"))) >= 4)[:40]
    for person in people:
        shutil.copytree(person, root / person.name)
    with FaceDB(tmp_path / "db", analyzer) as db:
        db.enroll(root)
        result = db.calibrate(far=1e-2)
        assert result.reliable and result.impostor_pairs > 1000
        assert db.threshold().value == pytest.approx(result.threshold)
        assert 0.1 < result.threshold < 0.6 and result.true_accept_rate > 0.9
        assert result.genuine_mean > result.impostor_mean + 0.3
    embeddings = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    from facerec.recognition.calibration import calibrate
    with pytest.raises(CalibrationError, match="at least two people"):
        calibrate(embeddings, np.array(["a", "b", "c", "d"]), 1e-3)


def test_readers_see_the_last_commit_while_a_write_is_open(tmp_path, analyzer, known):
    path = tmp_path / "db"
    with FaceDB(path, analyzer) as writer:
        writer.enroll(known)
        writer.gallery._store.conn.execute("BEGIN IMMEDIATE")
        writer.gallery._store.conn.execute("DELETE FROM faces")
        with FaceDB(path, analyzer, create=False) as reader:
            assert reader.gallery.people() == [("biden", 1), ("obama", 2)]
            assert reader.gallery.check() == (3, 3)
        writer.gallery._store.conn.execute("ROLLBACK")


def test_one_threshold_rule_everywhere(db, known, samples):
    from facerec.recognition.verification import verify

    db.enroll(known)
    model = db.analyzer.threshold
    assert db.threshold() == Threshold(model, "model")
    assert db.threshold(0.7) == Threshold(0.7, "given")
    same = db.verify(samples / "obama.jpg", samples / "obama3.jpg")
    assert same.same_person and same.threshold.source == "model"
    db.gallery._store.set_meta("threshold", "0.99")       # as `facerec calibrate` stores it
    assert db.threshold() == Threshold(0.99, "calibrated")
    strict = db.verify(samples / "obama.jpg", samples / "obama3.jpg")
    assert not strict.same_person and strict.to_dict()["threshold_source"] == "calibrated"
    (match,) = db.identify(samples / "obama3.jpg")
    assert match.person == UNKNOWN                         # identify follows the same rule
    plain = verify(samples / "obama.jpg", samples / "obama3.jpg", analyzer=db.analyzer)
    assert plain.same_person and plain.threshold == Threshold(model, "model")


def test_a_photo_of_one_person_is_not_taken_by_another(db, known, tmp_path):
    """Sending a photo enrolled for one person to another is refused, naming the owner,
    and nothing changes; with move it is moved; the same bytes at another path are a
    duplicate of this person's photo, or another person's photo."""
    db.enroll(known)
    photo = known / "biden.jpg"
    refused = db.enroll(name="obama", paths=[photo])
    assert refused.stored == 0 and refused.skipped[0].owner == "biden"
    assert "already enrolled as 'biden'" in refused.skipped[0].reason
    assert db.gallery.people() == [("biden", 1), ("obama", 2)]
    copy = tmp_path / "copy-of-biden.jpg"
    shutil.copy(photo, copy)
    assert db.enroll(name="obama", paths=[copy]).skipped[0].owner == "biden"
    duplicate = db.enroll(name="biden", paths=[copy])
    assert duplicate.stored == 0 and len(duplicate.duplicates) == 1 and not duplicate.skipped
    moved = db.enroll(name="obama", paths=[photo], move=True)
    assert moved.replaced == 1 and db.gallery.people() == [("obama", 3)]


def test_a_database_opens_with_the_networks_of_its_model(tmp_path, analyzer, dlib_path):
    """The model a database holds decides its networks: ``Recognizer.open`` builds them
    when given none, and refuses networks of another model at once, not at the first
    match."""
    from facerec import Gallery, Recognizer

    with Gallery(tmp_path / "db") as gallery:
        gallery.claim_model("dlib-resnet-v1+flip")
    with Recognizer.open(tmp_path / "db", create=False) as recognizer:
        assert recognizer.analyzer.model_id == "dlib-resnet-v1+flip"
        assert recognizer.analyzer.embedder.flip
    with pytest.raises(DatabaseError, match="dlib-resnet-v1\\+flip embeddings, not sface"):
        Recognizer.open(tmp_path / "db", analyzer, create=False)


def test_model_ids_read_back_as_written():
    from facerec.errors import ModelError
    from facerec.models.model_id import ModelId

    for text in ("sface-2021dec", "sface-2021dec+flip", "w600k-mbf+flip"):
        assert str(ModelId.parse(text)) == text
    assert ModelId.parse("dlib-resnet-v1+flip") == ModelId("dlib-resnet-v1", flip=True)
    assert ModelId.parse("w600k-mbf").spec.embedding_size == 512
    with pytest.raises(ModelError, match="unknown model"):
        ModelId.parse("someone-elses-model+flip").spec
