"""Names that look the same are the same person: Unicode forms (NFC and NFD), case, and
percent-encodings that are not UTF-8, in the store, the CLI and over HTTP."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import unicodedata

import pytest
from cli import assert_no_traceback, run_cli
from test_gallery import faces, unit

from facerec.errors import PersonExists
from facerec.names import name_key, validate_name
from facerec.storage.gallery import Gallery

NFC = unicodedata.normalize("NFC", "José")
NFD = unicodedata.normalize("NFD", "José")


def test_names_are_stored_in_nfc():
    assert NFC != NFD
    assert validate_name(NFD) == validate_name(f" {NFC} ") == NFC
    assert name_key("STRASSE") == name_key("Straße") and name_key(NFD) == name_key("JOSÉ")


def test_one_person_whatever_the_unicode_form(tmp_path):
    with Gallery(tmp_path / "db") as gallery:
        gallery.add_faces(faces(NFD, unit(1, 1), "a"))
        gallery.add_faces(faces(NFC, unit(1, 2), "b"))
        assert gallery.people() == [(NFC, 2)]
        assert len(gallery.faces_of(NFD)) == 2
        gallery.rename(NFD, "Zoë")
        gallery.add_faces(faces(unicodedata.normalize("NFD", "Zoë"), unit(1, 3), "c"))
        assert gallery.people() == [("Zoë", 3)]


def test_a_name_that_differs_only_by_case_is_refused_naming_the_person(tmp_path):
    with Gallery(tmp_path / "db") as gallery:
        gallery.add_faces(faces("obama", unit(1, 1)))
        for name in ("Obama", "OBAMA"):
            with pytest.raises(PersonExists, match="'obama'"):
                gallery.add_faces(faces(name, unit(1, 2), "x"))
        gallery.add_faces(faces("biden", unit(1, 3)))
        with pytest.raises(PersonExists, match="'obama'"):
            gallery.rename("biden", "Obama")
        gallery.rename("obama", "Obama")                # the same person, new spelling
        assert gallery.people() == [("Obama", 1), ("biden", 1)]


def test_look_alike_names_are_refused_with_the_reason(tmp_path):
    """Fullwidth letters are the same name as their ASCII ones; a word mixing look-alike
    letters of two scripts (a Cyrillic о in bobby) is refused; words in two scripts
    (a name and its transliteration) are a name."""
    from facerec.errors import InvalidName

    with Gallery(tmp_path / "db") as gallery:
        gallery.add_faces(faces("bobby", unit(1, 1)))
        with pytest.raises(PersonExists, match="'bobby'"):
            gallery.add_faces(faces("ｂｏｂｂｙ", unit(1, 2), "x"))
    with pytest.raises(InvalidName, match="different scripts that look alike"):
        validate_name("b\u043ebby")
    assert validate_name("Ivan Иванов") == "Ivan Иванов"
    assert validate_name("Мария") == "Мария" and validate_name("Ελένη") == "Ελένη"


def test_an_older_database_is_normalised_once_and_says_what_merged(tmp_path, caplog):
    folder = tmp_path / "db"
    with Gallery(folder) as gallery:
        gallery.add_faces(faces("Zoe", unit(2, 1), "z") + faces(NFC, unit(1, 2), "c")
                          + faces("Renée", unit(1, 3), "r"))
    with sqlite3.connect(folder / "faces.sqlite") as conn:   # as an older facerec stored
        conn.execute("INSERT INTO people(name, created) VALUES(?, 0)", (NFD,))
        conn.execute("UPDATE faces SET person_id = (SELECT id FROM people WHERE name = ?) "
                     "WHERE source LIKE '%Zoe%'", (NFD,))
        conn.execute("DELETE FROM people WHERE name = 'Zoe'")
        conn.execute("UPDATE people SET name = ? WHERE name = ?",
                     (unicodedata.normalize("NFD", "Renée"), "Renée"))
        conn.execute("DELETE FROM meta WHERE key = 'names'")
        conn.execute("PRAGMA user_version = 1")  # the schema before names were normalised
    with caplog.at_level(logging.WARNING, logger="facerec"), Gallery(folder) as gallery:
        assert gallery.people() == [(NFC, 3), ("Renée", 1)]
    assert len(caplog.records) == 1 and "now one person" in caplog.text


@pytest.mark.slow
def test_cli_enrolls_one_person_whatever_the_form_and_refuses_case_twins(tmp_path, samples,
                                                                         model_paths):
    db = tmp_path / "db"
    assert run_cli("enroll", "--db", db, "--name", NFD, samples / "obama.jpg").returncode == 0
    assert run_cli("enroll", "--db", db, "--name", NFC, samples / "obama2.jpg"
                   ).returncode == 0
    twin = run_cli("enroll", "--db", db, "--name", "JOSÉ", samples / "obama3.jpg")
    assert_no_traceback(twin)
    assert twin.returncode == 2 and f"{NFC!r}" in twin.stderr
    known = tmp_path / "known"
    for person, photo in (("josé", "obama3.jpg"), ("biden", "biden.jpg")):
        (known / person).mkdir(parents=True)
        shutil.copy(samples / photo, known / person / photo)
    folder = run_cli("enroll", "--db", db, known)
    assert folder.returncode == 1 and "differs only by case" in folder.stderr
    with Gallery(db, create=False) as gallery:
        assert dict(gallery.people()) == {NFC: 2, "biden": 1}


@pytest.mark.slow
def test_http_names_are_normalised_and_bad_encodings_refused(tmp_path, samples, model_paths):
    httpx = pytest.importorskip("httpx", reason="httpx is a test dependency")
    from server import running_server
    from test_server import assert_error, enroll

    with running_server(tmp_path / "db") as server:
        photo = lambda name: (name, (samples / name).read_bytes())  # noqa: E731
        assert enroll(server.url, "Jos%C3%A9", photo("obama.jpg")).status_code == 201
        second = enroll(server.url, "Jose%CC%81", photo("obama2.jpg"))
        assert second.status_code == 201 and second.json()["person"] == NFC
        people = httpx.get(server.url + "/v1/people").json()["people"]
        assert people == [{"name": NFC, "faces": 2}]
        assert "not UTF-8" in assert_error(enroll(server.url, "Jos%E9", photo("biden.jpg")), 400)
        assert "'José'" in assert_error(enroll(server.url, "JOS%C3%89", photo("biden.jpg")), 409)
        assert httpx.get(server.url + "/v1/people").json()["people"] == people
