"""The shapes of a database's rows: its schema and its versions, the faces going in and
coming out, and how a stored row becomes a record. Shared by the store and by ``repair``,
which reads damaged files without the store."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import numpy as np

from facerec.storage.people import normalize_stored_names, store_name_keys
from facerec.storage.schema import Schema, Step, columns_of, statements
from facerec.types import Detection

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    source TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
    landmarks TEXT NOT NULL,
    score REAL NOT NULL,
    quality REAL NOT NULL,
    embedding BLOB NOT NULL,
    model TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS faces_person ON faces(person_id);
CREATE INDEX IF NOT EXISTS faces_sha256 ON faces(sha256);
CREATE TABLE IF NOT EXISTS skips (
    source TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    reason TEXT NOT NULL,
    settings TEXT NOT NULL,
    person TEXT
);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    embedding BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rejections_person ON rejections(person_id);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    face_id INTEGER NOT NULL,
    added INTEGER NOT NULL
);
"""



def _tables(conn: sqlite3.Connection) -> list[str]:
    statements(SCHEMA)(conn)
    if "person" not in columns_of(conn, "skips"):  # from before skips named their person
        conn.execute("ALTER TABLE skips ADD COLUMN person TEXT")
    return []


def _names_in_nfc(conn: sqlite3.Connection) -> list[str]:
    said = conn.execute("SELECT value FROM meta WHERE key = 'names'").fetchone()
    return [] if said is not None and said[0] == "nfc" else normalize_stored_names(conn)


FACES = Schema("database", (
    Step("the tables: people, faces, skips, rejections, the change log", _tables),
    Step("people's names in Unicode NFC", _names_in_nfc),
    Step("people's name keys stored and indexed (one lookup for a case twin)",
         store_name_keys),
))
"""The face database's versions (``facerec.storage.schema``): add steps, never edit one."""

FACE_COLUMNS = ("f.id, p.name, f.source, f.sha256, f.x1, f.y1, f.x2, f.y2, f.landmarks, "
                 "f.score, f.quality, f.embedding")

@dataclass(frozen=True)
class NewFace:
    """A face to add: which person, from which file, what the pipeline found.
    ``embedding`` is (D,) float32, unit length."""

    person: str
    source: str
    sha256: str
    detection: Detection
    quality: float
    embedding: np.ndarray


@dataclass(frozen=True)
class FaceRecord(NewFace):
    """One enrolled face: a NewFace with its database id."""

    id: int



def vectors(rows: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])


def face_record(row: tuple) -> FaceRecord:
    (face_id, person, source, digest, x1, y1, x2, y2, landmarks, score, quality,
     blob) = row
    return FaceRecord(person=person, source=source, sha256=digest,
                      detection=Detection.of((x1, y1, x2, y2), json.loads(landmarks), score),
                      quality=quality,
                      embedding=np.frombuffer(blob, dtype=np.float32), id=face_id)


