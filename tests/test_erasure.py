"""A person removed is removed everywhere: the raw bytes of every file in the database
folder (SQLite and its write-ahead log, the FAISS index, face crops, reindex backups) are
searched for the removed embeddings, crops, photo digests and paths, over HTTP and on the
command line; the server's memory of unknown faces forgets them too."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from cli import assert_no_traceback, run_cli

httpx = pytest.importorskip("httpx", reason="httpx is a test dependency")
from server import running_server  # noqa: E402
from test_server import enroll, identify  # noqa: E402


def traces(db: Path, person: str) -> dict[str, list[bytes]]:
    """What of ``person`` a file could hold: the start of each embedding, the sha256 of
    each photo (upload sources and crop names), and each photo's path."""
    with sqlite3.connect(f"file:{db / 'faces.sqlite'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT f.embedding, f.sha256, f.source FROM faces f JOIN people p "
                            "ON p.id = f.person_id WHERE p.name = ?", (person,)).fetchall()
    conn.close()
    assert rows, f"{person} has no faces"
    return {"embedding": [bytes(e[:64]) for e, _, _ in rows],
            "digest": [d.encode() for _, d, _ in rows],
            "path": [s.encode() for _, _, s in rows if not s.startswith("upload:")]}


def files_holding(folder: Path, needles: dict[str, list[bytes]]) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.relative_to(folder)} holds a {kind}" for kind, values in needles.items()
                  for value in values if value in data]
    return found


def backup_of(db: Path) -> None:
    """A backup as ``facerec reindex`` keeps one, made with SQLite's backup API."""
    with sqlite3.connect(db / "faces.sqlite") as source, \
            sqlite3.connect(db / "faces.sqlite.sface-2021dec.bak") as target:
        source.backup(target)
    source.close()
    target.close()


@pytest.mark.slow
def test_removing_over_http_erases_every_copy(tmp_path, samples, model_paths):
    db = tmp_path / "db"
    with running_server(db) as server:
        # identify first: obama is unknown, and the server remembers his face and crop
        seen = identify(server.url, (samples / "obama3.jpg").read_bytes())
        assert [f["person"] for f in seen.json()["faces"]] == ["unknown"]
        assert enroll(server.url, "biden", ("b.jpg", (samples / "biden.jpg").read_bytes())
                      ).status_code == 201
        assert enroll(server.url, "obama", ("o1.jpg", (samples / "obama.jpg").read_bytes()),
                      ("o2.jpg", (samples / "obama2.jpg").read_bytes())).status_code == 201
        groups = httpx.post(server.url + "/v1/clusters", timeout=60).json()
        number = (groups["groups"] + [{"faces": groups["ungrouped"]}])[0]["faces"][0][
            "unknown_face"]
        unknown_crop = httpx.get(f"{server.url}/v1/unknown/{number}/thumbnail").content
        faces = httpx.get(server.url + "/v1/people/obama").json()["faces"]
        crops = [httpx.get(f"{server.url}/v1/faces/{f['id']}/thumbnail").content
                 for f in faces]
        assert all(crop.startswith(b"\xff\xd8") for crop in crops + [unknown_crop])
        assert identify(server.url, (samples / "obama3.jpg").read_bytes()
                        ).json()["faces"][0]["person"] == "obama"   # the index is in use
        needles = {**traces(db, "obama"), "crop": crops + [unknown_crop], "name": [b"obama"]}
        backup_of(db)

        removed = httpx.delete(server.url + "/v1/people/obama")
        assert removed.status_code == 200, removed.text
        erased = removed.json()["erased"]
        assert erased["faces"] == 2 and erased["thumbnails"] == 2
        assert erased["backups"] == ["faces.sqlite.sface-2021dec.bak"]
        assert erased["unknown_faces"] == 1 and erased["not_erased"] == []
        assert erased["log_truncated"] is True and erased["index"] == "rewritten"
        # while the server runs: nothing of obama in any file, nor in its memory
        assert files_holding(db, needles) == []
        assert httpx.get(f"{server.url}/v1/unknown/{number}/thumbnail").status_code == 404
        assert httpx.post(server.url + "/v1/clusters", timeout=60).json()["faces"] == 0
        assert identify(server.url, (samples / "obama3.jpg").read_bytes()
                        ).json()["faces"][0]["person"] == "unknown"
        biden = httpx.get(server.url + "/v1/people/biden").json()["faces"]
        assert httpx.get(f"{server.url}/v1/faces/{biden[0]['id']}/thumbnail").status_code == 200
    assert files_holding(db, needles) == []          # and after a clean stop


@pytest.mark.slow
def test_removing_one_face_over_http_erases_its_copies(tmp_path, samples, model_paths):
    db = tmp_path / "db"
    with running_server(db) as server:
        assert enroll(server.url, "obama", ("o1.jpg", (samples / "obama.jpg").read_bytes()),
                      ("o2.jpg", (samples / "obama2.jpg").read_bytes())).status_code == 201
        faces = httpx.get(server.url + "/v1/people/obama").json()["faces"]
        identify(server.url, (samples / "obama3.jpg").read_bytes())
        with sqlite3.connect(f"file:{db / 'faces.sqlite'}?mode=ro", uri=True) as conn:
            embedding, digest = conn.execute("SELECT embedding, sha256 FROM faces WHERE id = ?",
                                             (faces[0]["id"],)).fetchone()
        conn.close()
        removed = httpx.delete(f"{server.url}/v1/faces/{faces[0]['id']}")
        assert removed.status_code == 200 and removed.json()["erased"]["thumbnails"] == 1
        assert files_holding(db, {"embedding": [bytes(embedding[:64])],
                                  "digest": [digest.encode()]}) == []
        assert httpx.get(server.url + "/v1/people/obama").json()["faces"] == faces[1:]


@pytest.mark.slow
def test_removing_on_the_command_line_erases_every_copy(tmp_path, samples, model_paths):
    known, db = tmp_path / "known", tmp_path / "db"
    for person, photos in (("obama", ("obama.jpg", "obama2.jpg")), ("biden", ("biden.jpg",))):
        (known / person).mkdir(parents=True)
        for photo in photos:
            shutil.copy(samples / photo, known / person / photo)
    (known / "obama" / "wall.jpg").write_bytes((samples / "32bit.png").read_bytes()[:900])
    assert run_cli("enroll", known, "--db", db).returncode == 1      # wall.jpg is skipped
    assert run_cli("identify", "--db", db, samples / "obama3.jpg").returncode == 0
    backup_of(db)
    needles = {**traces(db, "obama"), "name": [b"obama"],
               "folder": [str(known / "obama").encode()]}   # the skipped wall.jpg too
    done = run_cli("remove", "obama", "--db", db)
    assert_no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert "removed obama (2 faces)" in done.stdout
    assert "skip memory: 1 entries forgotten" in done.stdout
    assert "backup faces.sqlite.sface-2021dec.bak: erased too" in done.stdout
    assert files_holding(db, needles) == []
    people = run_cli("people", "--db", db)
    assert people.stdout.split() == ["biden", "1"]
    # a photo deleted from the folder: `enroll --sync` erases its face the same way
    biden = traces(db, "biden")
    (known / "biden" / "biden.jpg").unlink()
    synced = run_cli("enroll", known, "--db", db, "--sync")
    assert "removed 1" in synced.stdout, synced.stdout + synced.stderr
    assert files_holding(db, {"embedding": biden["embedding"], "path": biden["path"],
                              "digest": biden["digest"]}) == []


def test_remove_help_says_what_is_erased():
    text = " ".join(run_cli("remove", "--help").stdout.split())
    for place in ("write-ahead log", "index file", "face crops", "skip memory", "backups"):
        assert place in text, text


@pytest.mark.slow
def test_removing_erases_the_photo_librarys_copies(tmp_path, samples, model_paths):
    """The photo library keeps a removed person's other photos, their faces unknown, but
    no copy of what was enrolled (the enrolled photo scanned too, the same pixels under
    other bytes) in any of its files, and no sidecar names them."""
    import numpy as np
    from PIL import Image

    from facerec.library import Library

    known, photos, db = tmp_path / "known", tmp_path / "photos", tmp_path / "db"
    (known / "obama").mkdir(parents=True)
    (known / "biden").mkdir()
    shutil.copy(samples / "obama.jpg", known / "obama" / "a.jpg")
    shutil.copy(samples / "obama2.jpg", known / "obama" / "b.jpg")
    shutil.copy(samples / "biden.jpg", known / "biden" / "c.jpg")
    photos.mkdir()
    shutil.copy(samples / "obama.jpg", photos / "p1.jpg")             # the same bytes
    Image.open(samples / "obama2.jpg").save(photos / "p2.png")          # the same pixels
    shutil.copy(samples / "obama3.jpg", photos / "p3.jpg")             # another photo
    shutil.copy(samples / "biden.jpg", photos / "p4.jpg")
    assert run_cli("enroll", known, "--db", db).returncode == 0
    assert run_cli("scan", photos, "--db", db).returncode == 0
    assert run_cli("export-xmp", "--db", db).returncode == 0
    assert b"obama" in (photos / "p3.jpg.xmp").read_bytes()
    removed = traces(db, "obama")
    embeddings = np.stack([np.frombuffer(e, np.float32) for e in _embeddings(db, "obama")])
    needles = {"digest": removed["digest"], "path": removed["path"], "name": [b"obama"]}

    done = run_cli("remove", "obama", "--db", db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "photo library: 2 copies erased, 3 XMP sidecars written without them" \
        in done.stdout, done.stdout
    assert files_holding(db, needles) == []
    assert not any(b"obama" in p.read_bytes() for p in photos.glob("*.xmp"))
    vectors = np.fromfile(db / "library.vectors", np.float32).reshape(-1, 128)
    assert (vectors @ embeddings.T).max() < 0.999
    with sqlite3.connect(db / "library.sqlite") as conn:
        stored = [np.frombuffer(row[0], np.float32) for row in
                  conn.execute("SELECT embedding FROM faces")]
    conn.close()
    assert (np.stack(stored) @ embeddings.T).max() < 0.999
    assert not Path(f"{db}/library.sqlite-wal").exists() or \
        Path(f"{db}/library.sqlite-wal").stat().st_size == 0
    with Library.open(db, create=False) as library:
        unknown = [Path(photo.path).name for photo in library.unknown()]
        assert unknown == ["p3.jpg"]                  # their other photo, of nobody now
        assert [Path(p.path).name for p in library.find(["biden"])] == ["p4.jpg"]


def _embeddings(db: Path, person: str) -> list[bytes]:
    with sqlite3.connect(f"file:{db / 'faces.sqlite'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT f.embedding FROM faces f JOIN people p "
                            "ON p.id = f.person_id WHERE p.name = ?", (person,)).fetchall()
    conn.close()
    return [bytes(row[0]) for row in rows]
