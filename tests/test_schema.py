"""Schema versions: a database or photo library of every version ever written (copies in
tests/fixtures/schema, made by scripts/make_schema_fixtures.py) opens with today's code,
keeps everything it held and is brought to the current version; a file from a newer
facerec, or another program's SQLite file, is refused and left as it was."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from facerec.errors import DatabaseError
from facerec.storage.gallery import Gallery
from facerec.storage.library_store import LIBRARY, LibraryStore
from facerec.storage.rows import FACES

FIXTURES = Path(__file__).parent / "fixtures" / "schema"


def fixtures(store: str) -> list[Path]:
    return sorted(FIXTURES.glob(f"{store}-v*.sqlite"))


def version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def dump(path: Path) -> list[str]:
    """The file's schema, rows and version, as SQL."""
    conn = sqlite3.connect(path)
    try:
        return [*conn.iterdump(), f"user_version {version(path)}"]
    finally:
        conn.close()


def test_a_fixture_of_every_version():
    """Every version a store has had, from the files without one (0) to today's, has a
    file to open: a new step comes with the file it writes."""
    for store, schema in (("faces", FACES), ("library", LIBRARY)):
        found = sorted(int(re.search(r"-v(\d+)", p.name).group(1)) for p in fixtures(store))
        assert found[0] == 0 and found[-1] == schema.version, (store, found)
        assert all(version(p) == int(re.search(r"-v(\d+)", p.name).group(1))
                   for p in fixtures(store))


@pytest.mark.parametrize("fixture", fixtures("faces"), ids=lambda p: p.stem)
def test_a_face_database_of_any_version_opens_whole(fixture, tmp_path):
    shutil.copyfile(fixture, tmp_path / "faces.sqlite")
    with Gallery(tmp_path) as gallery:
        assert gallery.people() == [("Ada Lovelace", 3), ("Zoë Ångström", 2)]
        assert gallery.model == "sface-2021dec"
        assert gallery.calibrated_threshold == 0.42
        assert gallery.rejection_counts() == {"Ada Lovelace": 1}
        assert gallery.skips("yunet-2023mar") == {
            "known/Ada Lovelace/blurred.jpg": ("ab" * 32, "no face found")}
        faces = gallery.faces_of("Zoë Ångström")
        assert [f.source for f in faces] == ["known/Zoë Ångström/0.jpg",
                                            "known/Zoë Ångström/1.jpg"]
        assert faces[0].detection.landmarks[4] == (75.0, 115.0)
        assert gallery.check() == (5, 5)
        assert gallery.case_twin("ADA LOVELACE") == "Ada Lovelace"  # by the stored key
        _, ids, people = gallery.search(faces[1].embedding[None], 1)
        assert people[ids[0][0]] == "Zoë Ångström" and ids[0][0] == faces[1].id
    assert version(tmp_path / "faces.sqlite") == FACES.version


@pytest.mark.parametrize("fixture", fixtures("library"), ids=lambda p: p.stem)
def test_a_photo_library_of_any_version_opens_whole(fixture, tmp_path):
    shutil.copyfile(fixture, tmp_path / "library.sqlite")
    store = LibraryStore(tmp_path / "library.sqlite")
    try:
        assert store.counts() == (2, 2, 3)
        assert store.get_meta("model") == "sface-2021dec"
        assert set(store.skipped()) == {"photos/broken.jpg"}
        photos = store.photos(store.files()[path][1] for path in store.files())
        assert [(p.path, p.taken) for p in photos] == [
            ("photos/beach.jpg", "2023-07-01T12:00:00"), ("photos/old/scan.png", None)]
        assert sorted(f.match_id for f in store.faces_in(p.id for p in photos)
                      if f.match_id is not None) == [1]
    finally:
        store.close()
    assert version(tmp_path / "library.sqlite") == LIBRARY.version


@pytest.mark.parametrize("name, opens", [("faces.sqlite", Gallery),
                                         ("library.sqlite", LibraryStore)])
def test_a_file_from_a_newer_facerec_is_refused_untouched(name, opens, tmp_path):
    store = "faces" if name == "faces.sqlite" else "library"
    newest = fixtures(store)[-1]
    shutil.copyfile(newest, tmp_path / name)
    conn = sqlite3.connect(tmp_path / name)
    conn.execute(f"PRAGMA user_version = {version(newest) + 1}")
    conn.close()
    before = dump(tmp_path / name)
    target = tmp_path if opens is Gallery else tmp_path / name
    with pytest.raises(DatabaseError, match="written by a newer facerec .*upgrade facerec"):
        opens(target)
    assert dump(tmp_path / name) == before


def test_another_programs_sqlite_file_is_left_alone(tmp_path):
    conn = sqlite3.connect(tmp_path / "faces.sqlite")
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="not a facerec database"):
        Gallery(tmp_path)
    conn = sqlite3.connect(tmp_path / "faces.sqlite")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert tables == {"contacts"}  # no facerec table was made in it
