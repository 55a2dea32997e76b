"""The photo library on real photos (``../shared/faces``): scan once, then find people in
the stored faces, re-matched whenever the enrolled people change, never re-analysed."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from cli import SCRIPT, run_cli

from facerec import Library, PersonNotFound, Recognizer
from facerec.cli import main
from facerec.photos.image import _iso_date, date_taken


def expected_people(shared_faces) -> dict[str, set[str]]:
    """probe file name -> the enrolled people in it (probes.csv)."""
    with open(shared_faces / "probes.csv", newline="") as fh:
        return {row["image"].split("/")[-1]: set(row["expected_identities"].split(";"))
                - {"unknown"} for row in csv.DictReader(fh)}


@pytest.fixture()
def probes(shared_faces, tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(shared_faces / "probes", folder)
    return folder


def enrolled(tmp_path, shared_faces, analyzer, people) -> Recognizer:
    recognizer = Recognizer.open(tmp_path / "db", analyzer)
    for person in people:
        recognizer.enroll(name=person, paths=[shared_faces / "gallery" / person])
    return recognizer


def names_in(photos) -> dict[str, set[str]]:
    return {os.path.basename(photo.path): photo.people() for photo in photos}


def test_find_names_every_photo_of_each_person_and_no_one_else(shared_faces, probes, tmp_path,
                                                                analyzer):
    people = sorted(p.name for p in (shared_faces / "gallery").iterdir())
    expected = expected_people(shared_faces)
    with enrolled(tmp_path, shared_faces, analyzer, people) as recognizer:
        library = Library(recognizer.gallery, analyzer)
        report = library.scan([probes])
        assert (report.photos, report.analysed, report.skipped) == (len(expected), 5, [])
        for person in people:
            found = {os.path.basename(p.path) for p in library.find([person])}
            assert found == {name for name, who in expected.items() if person in who}, person
        both = library.find(["kit_harington", "rose_leslie"], together="all")
        assert [os.path.basename(p.path) for p in both] == ["kit_with_rose.jpg"]
        assert {os.path.basename(p.path) for p in library.unknown()} == {"obama_and_biden.jpg"}
        answer = library.who(probes / "obama_and_biden.jpg")
        assert answer is not None and answer.people() == {"obama", "biden"}
        again = library.scan([probes])
        assert (again.unchanged, again.analysed, again.moved) == (len(expected), 0, 0)
        with pytest.raises(PersonNotFound):
            library.find(["nobody"])


def test_people_enrolled_removed_renamed_after_the_scan_are_rematched_from_stored_faces(
        shared_faces, probes, tmp_path, analyzer):
    others = ["alex_lacamoire", "biden", "obama", "rose_leslie"]
    with enrolled(tmp_path, shared_faces, analyzer, others) as recognizer:
        Library(recognizer.gallery, analyzer).scan([probes])
        recognizer.enroll(name="kit_harington", paths=[shared_faces / "gallery/kit_harington"])
        catch_up = Library(recognizer.gallery).refresh()
        # only the faces near the new person's were touched: the two photos of him
        assert (catch_up.rematched, catch_up.full) == (2, False)
    # a fresh process answers from the stored faces without loading any network
    code = ("import sys, json; from facerec import Library\n"
            f"lib = Library.open({str(tmp_path / 'db')!r}, create=False)\n"
            "print(json.dumps(sorted(p.path for p in lib.find(['kit_harington']))))\n"
            "print(json.dumps([m for m in"
            " ('facerec.faces.analyzer', 'facerec.faces.detector', 'torch')"
            " if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    found, loaded = (json.loads(line) for line in done.stdout.splitlines())
    assert [os.path.basename(p) for p in found] == ["johnsnow_test1.jpg", "kit_with_rose.jpg"]
    assert "facerec.faces.analyzer" not in loaded and "facerec.faces.detector" not in loaded

    with Library.open(tmp_path / "db") as library:
        library.gallery.rename("rose_leslie", "Rose Leslie")
        assert names_in(library.find(["Rose Leslie"])) == {
            "kit_with_rose.jpg": {"kit_harington", "Rose Leslie"}}
        library.gallery.remove("kit_harington")
        with pytest.raises(PersonNotFound):
            library.find(["kit_harington"])
        unknown = names_in(library.unknown())
        assert unknown["johnsnow_test1.jpg"] == set()
        assert unknown["kit_with_rose.jpg"] == {"Rose Leslie"}
        # a threshold above every similarity: nobody is known, without a re-match
        assert library.find(["obama"], threshold=0.999) == []


def test_moved_changed_and_deleted_photos(shared_faces, probes, tmp_path, analyzer):
    with enrolled(tmp_path, shared_faces, analyzer, ["obama", "kit_harington"]) as recognizer:
        library = Library(recognizer.gallery, analyzer)
        library.scan([probes])
        files, photos, faces = library.counts()
        (probes / "album").mkdir()
        (probes / "obama1.jpg").rename(probes / "album" / "renamed.jpg")
        shutil.copyfile(probes / "johnsnow_test1.jpg", probes / "copy.jpg")
        report = library.scan([probes])
        assert (report.moved, report.analysed, report.removed) == (2, 0, 1)
        assert library.counts() == (files + 1, photos, faces)
        assert {os.path.basename(p.path) for p in library.find(["obama"])} == {
            "renamed.jpg", "obama_and_biden.jpg"}

        # a changed file is analysed again; its old photo's faces go when no file shows it
        shutil.copyfile(shared_faces / "gallery/obama/obama.jpg", probes / "copy.jpg")
        shutil.copyfile(shared_faces / "gallery/obama/obama2.jpg", probes / "alex_lacamoire1.jpg")
        report = library.scan([probes])
        assert (report.analysed, report.changed, report.moved) == (2, 2, 0)
        assert library.counts()[1:] == (photos + 1, faces + 1)
        _, photo_id = library.store.photo_at(str(probes / "alex_lacamoire1.jpg"))
        erased = [face.id for face in library.store.faces_in([photo_id])]
        (probes / "alex_lacamoire1.jpg").unlink()
        report = library.scan([probes], keep_missing=True)
        assert report.removed == 0 and library.counts()[0] == files + 1
        report = library.scan([probes])
        assert report.removed == 1 and library.counts()[1:] == (photos, faces)
        # the erased face's embedding is overwritten in the vector file, not left there
        vectors = np.fromfile(tmp_path / "db" / "library.vectors", np.float32).reshape(-1, 128)
        kept, _ = next(library.store.embeddings_after(0))
        assert erased and not vectors[erased].any() and vectors[kept].any(axis=1).all()
        assert library.store.erased() == []


def test_unreadable_files_are_skipped_with_their_reason_and_remembered(probes, tmp_path,
                                                                       analyzer):
    (probes / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (probes / "empty.png").write_bytes(b"")
    with Library.open(tmp_path / "db", analyzer) as library:
        report = library.scan([probes])
        reasons = {os.path.basename(s.path): s.reason for s in report.skipped}
        assert set(reasons) == {"broken.jpg", "empty.png"}
        assert "corrupt" in reasons["broken.jpg"] or "not an image" in reasons["broken.jpg"]
        assert reasons["empty.png"] == "empty file"
        again = library.scan([probes])
        assert again.analysed == 0 and len(again.skipped) == 2


def test_date_taken_is_read_from_exif_and_orders_the_answers(shared_faces, tmp_path, analyzer):
    from PIL import Image

    folder = tmp_path / "dated"
    folder.mkdir()
    for name, stamp in (("old.jpg", "2009:01:20 12:00:00"), ("new.jpg", "2021:01:20 12:00:00")):
        image = Image.open(shared_faces / "probes" / "obama1.jpg")
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = stamp
        image.save(folder / name, exif=exif, quality=95 if name == "old.jpg" else 90)
    assert date_taken((folder / "old.jpg").read_bytes()) == "2009-01-20T12:00:00"
    assert [_iso_date(s) for s in ("0000:00:00 00:00:00", "    ", "2020:13", None,
                                    "2024:13:45 99:99:99", "2023:02:29 10:00:00")] == \
        [None] * 6  # an impossible date is no date
    # a file dated past what SQLite's integers hold in nanoseconds (the year 2262)
    far = folder / "far.jpg"
    image.save(far, quality=80)
    os.utime(far, ns=(far.stat().st_atime_ns, 10_413_792_000 * 10**9))  # 2300-01-01
    with enrolled(tmp_path, shared_faces, analyzer, ["obama"]) as recognizer:
        library = Library(recognizer.gallery, analyzer)
        first = library.scan([folder])
        again = library.scan([folder])
        found = library.find(["obama"])
    assert (first.analysed, first.skipped, again.unchanged) == (3, [], 3)
    assert [(os.path.basename(p.path), p.taken) for p in found][1:] == [
        ("new.jpg", "2021-01-20T12:00:00"), ("old.jpg", "2009-01-20T12:00:00")]
    assert os.path.basename(found[0].path) == "far.jpg"  # no EXIF date: its mtime


def test_commands(shared_faces, probes, tmp_path, capsys):
    db = str(tmp_path / "db")

    def run(*args: object) -> tuple[int, str, str]:
        code = main([*map(str, args), "--db", db])
        out, err = capsys.readouterr()
        return code, out, err

    assert run("enroll", shared_faces / "gallery")[0] == 0
    code, out, _ = run("scan", probes, "--json")
    assert code == 0 and json.loads(out.splitlines()[0])["analysed"] == 5
    code, out, _ = run("find", "kit_harington", "rose_leslie", "--all", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [os.path.basename(r["path"]) for r in rows] == ["kit_with_rose.jpg"]
    assert {f["person"] for f in rows[0]["faces"]} == {"kit_harington", "rose_leslie"}
    code, out, _ = run("photos", "--unknown", "--csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert {os.path.basename(r["path"]) for r in table} == {"obama_and_biden.jpg"}
    assert [r["person"] for r in table].count("unknown") == 1
    code, out, err = run("who", probes / "johnsnow_test1.jpg")
    assert "kit_harington" in out and "analysing" not in err
    code, out, err = run("who", shared_faces / "gallery/obama/obama.jpg")
    assert "obama" in out and "not in the library" in err
    code, _, err = run("find", "nobody")
    assert code == 2 and "nobody" in err


@pytest.mark.slow
def test_a_scan_killed_at_any_moment_finishes_on_the_next_run(shared_faces, tmp_path):
    folder = tmp_path / "lfw"
    chosen = sorted((shared_faces / "lfw").iterdir())[:90]
    for person in chosen:
        shutil.copytree(person, folder / person.name)
    total = sum(1 for _ in folder.rglob("*.jpg"))
    db = tmp_path / "db"
    command = [str(SCRIPT), "scan", str(folder), "--db", str(db)]
    for wait in (0.3, 1.5):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        wait_for_faces(db, process)
        time.sleep(wait)
        process.send_signal(signal.SIGKILL)
        process.wait()
        conn = sqlite3.connect(db / "library.sqlite")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    done = run_cli("scan", folder, "--db", db, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["unchanged"] > 0 and report["unchanged"] + report["analysed"] == total
    with Library.open(db, create=False) as library:
        files, photos, faces = library.counts()
        assert files == photos == total and faces >= total
        rows = np.fromfile(db / "library.vectors", np.float32).reshape(-1, 128)
        ids, embeddings = next(library.store.embeddings_after(0, faces))
        assert len(rows) == ids.max() + 1 and np.array_equal(rows[ids], embeddings)


def wait_for_faces(db, process: subprocess.Popen, timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and process.poll() is None:
        if (db / "library.sqlite").is_file():
            conn = sqlite3.connect(db / "library.sqlite")
            try:
                if conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0]:
                    return
            except sqlite3.OperationalError:
                pass
            finally:
                conn.close()
        time.sleep(0.05)


def test_unknown_faces_grouped_from_the_library_and_a_group_named(shared_faces, tmp_path,
                                                                 capsys):
    folder, db, groups = tmp_path / "lfw", str(tmp_path / "db"), tmp_path / "groups"
    people = [p for p in sorted((shared_faces / "lfw").iterdir())
              if len(list(p.glob("*.jpg"))) >= 6][:3]
    for person in people:
        shutil.copytree(person, folder / person.name)
    assert main(["scan", str(folder), "--db", db]) == 0
    assert main(["cluster", "--library", "--out", str(groups), "--db", db]) == 0
    record = json.loads((groups / "groups.json").read_text())
    first = {face["photo"] for face in record["faces"] if face["group"] == 1}
    owners = {os.path.basename(os.path.dirname(photo)) for photo in first}
    assert len(first) >= 5 and len(owners) == 1, owners
    assert main(["name-group", str(groups), "1", "Someone", "--db", db]) == 0
    capsys.readouterr()
    assert main(["find", "Someone", "--db", db, "--json"]) == 0
    found = {json.loads(line)["path"] for line in capsys.readouterr().out.splitlines()}
    assert first <= found and {os.path.basename(os.path.dirname(p)) for p in found} == owners
    assert main(["cluster", "--library", "--out", str(tmp_path / "again"), "--db", db]) == 0
    left = json.loads((tmp_path / "again" / "groups.json").read_text())["faces"]
    named = {(f["photo"], tuple(f["box"])) for f in record["faces"] if f["group"] == 1}
    assert len(left) < len(record["faces"])
    assert not {(f["photo"], tuple(f["box"])) for f in left} & named  # no longer unknown


@pytest.mark.parametrize("how", ["deleted", "restored"])
def test_a_library_made_again_never_reads_the_old_vectors(shared_faces, tmp_path, analyzer,
                                                          how):
    """library.sqlite deleted (what a user does when told it is damaged), or an older copy
    put back: its new faces reuse old ids, and the vector rows of the faces before must
    not answer for them."""
    lfw = shared_faces / "lfw"
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(lfw / "Alejandro_Toledo", first)
    shutil.copytree(lfw / "Hugo_Chavez", second)
    with Recognizer.open(tmp_path / "db", analyzer) as recognizer:
        library = Library(recognizer.gallery, analyzer)
        if how == "restored":
            library.scan([sorted(first.iterdir())[0]])
            shutil.copy(tmp_path / "db" / "library.sqlite", tmp_path / "older.sqlite")
        library.scan([first])
        library.close()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / "db" / f"library.sqlite{suffix}").unlink(missing_ok=True)
    if how == "restored":
        shutil.copy(tmp_path / "older.sqlite", tmp_path / "db" / "library.sqlite")
    with Recognizer.open(tmp_path / "db", analyzer) as recognizer:
        library = Library(recognizer.gallery, analyzer)
        library.scan([second])
        recognizer.enroll(name="Hugo Chavez", paths=sorted(lfw.glob("Hugo_Chavez/*"))[:3])
        recognizer.enroll(name="Alejandro Toledo",
                          paths=sorted(lfw.glob("Alejandro_Toledo/*"))[:3])
        found = {os.path.basename(p.path) for p in library.find(["Hugo Chavez"])}
        toledo = [p.path for p in library.find(["Alejandro Toledo"])]
        library.close()
    assert len(found) >= 12 and all(name.startswith("Hugo_Chavez") for name in found)
    assert all("Alejandro_Toledo" in path for path in toledo)


def test_a_photo_torn_while_scanned_is_read_again_once_put_back(shared_faces, tmp_path,
                                                                analyzer):
    """A photo truncated between the walk and the read (a copy still being written, a
    sync client), then put back whole with its old mtime (`cp -p`): the skip is
    remembered under the state its bytes had, so the next scan reads it again."""
    from facerec.library.scan import LibraryScan

    folder = tmp_path / "photos"
    folder.mkdir()
    photo = folder / "obama.jpg"
    shutil.copy2(shared_faces / "probes" / "obama1.jpg", photo)
    whole, stamp = photo.read_bytes(), photo.stat()

    class TornWhileRead(LibraryScan):
        def _state(self, path):  # a writer truncates the file just after the walk saw it
            state = super()._state(path)
            with open(path, "r+b") as fh:
                fh.truncate(64)  # too little of a JPEG for any decoder
            return state

    with Recognizer.open(tmp_path / "db", analyzer) as recognizer:
        library = Library(recognizer.gallery, analyzer)
        library.scan([folder])  # the library's model and matches, as a first scan sets
        library.store.drop_files([str(photo)])
        matcher = library._matcher(library.model)
        torn = TornWhileRead(library.store, library._vectors_of(library.model), matcher,
                             analyzer, matcher.floor).run([folder])
        assert [s.path for s in torn.skipped] == [str(photo)]
        photo.write_bytes(whole)
        os.utime(photo, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # put back as cp -p
        again = library.scan([folder])
        library.close()
    assert again.skipped == [] and again.analysed + again.moved == 1


@pytest.mark.slow
def test_a_scan_stays_inside_its_folders_unless_told(shared_faces, tmp_path):
    """A link in a scanned folder to a photo elsewhere is named and not read (it could be
    any file the user can read, then served as a thumbnail); --follow-links reads it."""
    folder, outside = tmp_path / "photos", tmp_path / "elsewhere"
    folder.mkdir()
    outside.mkdir()
    shutil.copy(shared_faces / "probes" / "obama1.jpg", folder / "inside.jpg")
    shutil.copy(shared_faces / "probes" / "alex_lacamoire1.jpg", outside / "private.jpg")
    (folder / "link.jpg").symlink_to(outside / "private.jpg")
    (folder / "near.jpg").symlink_to(folder / "inside.jpg")  # a link inside is fine
    db = tmp_path / "db"
    done = run_cli("scan", folder, "--db", db, "--json")
    report = json.loads(done.stdout.splitlines()[0])
    assert [os.path.basename(s["path"]) for s in report["skipped"]] == ["link.jpg"]
    assert "outside the scanned folders" in report["skipped"][0]["reason"]
    assert report["analysed"] + report["moved"] == 2  # inside.jpg and near.jpg
    followed = run_cli("scan", folder, "--db", db, "--json", "--follow-links")
    again = json.loads(followed.stdout.splitlines()[0])
    assert again["skipped"] == [] and again["analysed"] == 1


@pytest.mark.parametrize("command", ["find", "photos"])
def test_listings_say_what_newest_first_means(command, capsys):
    """Photos without a date taken are placed by their file's time: the help says so."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "newest first: by the date each photo was taken" in said
    assert "else by its file's modification time" in said
