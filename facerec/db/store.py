"""The SQLite half of a face database: people, faces and their embeddings.

SQLite is the source of truth; the FAISS index is a cache rebuilt from it whenever its
recorded generation differs from the database's. Every change bumps ``generation`` in the
same transaction, so a process killed at any moment leaves either the old or the new
state, never a mix. WAL mode lets readers work while one process writes, and
``synchronous=FULL`` makes a write durable once it returns (a server answers only then).

A FaceStore may be handed from thread to thread, but used by one thread at a time.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FacerecError
from ..types import Detection

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
CREATE TABLE IF NOT EXISTS skips (
    source TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    reason TEXT NOT NULL,
    settings TEXT NOT NULL
);
"""


class DatabaseError(FacerecError):
    """The database cannot be opened or used as asked."""


class PersonNotFound(DatabaseError):
    """No person has the given name."""


class PersonExists(DatabaseError):
    """The name is already taken by another person."""


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


class FaceStore:
    """People and faces in ``DIR/faces.sqlite``.

    Args:
        path: the SQLite file.
        create: make it if missing; otherwise a missing file raises DatabaseError.
    """

    def __init__(self, path: Path, create: bool = True) -> None:
        if not create and not path.is_file():
            raise DatabaseError(f"no face database at {path.parent} "
                                "(enroll people first, or check --db)")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(path, timeout=60, isolation_level=None,
                                        check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"{path}: not a facerec database ({exc})") from None

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self, bump_generation: bool = True) -> Iterator[sqlite3.Connection]:
        """One atomic write, rolled back on any error. It bumps the generation (so the
        index is rebuilt) unless told the write does not touch what the index holds."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            if bump_generation:
                self.conn.execute(
                    "INSERT INTO meta(key, value) VALUES('generation', '1') ON CONFLICT(key) "
                    "DO UPDATE SET value = CAST(value AS INTEGER) + 1")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    # meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) "
                         "DO UPDATE SET value = excluded.value", (key, value))

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    def claim_model(self, model_id: str) -> None:
        """Record which model makes this database's embeddings; refuse another one."""
        current = self.get_meta("model")
        if current is None:
            self.set_meta("model", model_id)
        elif current != model_id:
            raise DatabaseError(f"this database holds {current} embeddings; "
                                f"{model_id} embeddings cannot be mixed in")

    # reads ------------------------------------------------------------------------------
    def people(self) -> list[tuple[str, int]]:
        """(name, face count) for every person, by name."""
        return self.conn.execute(
            "SELECT p.name, COUNT(f.id) FROM people p LEFT JOIN faces f ON f.person_id = p.id "
            "GROUP BY p.id ORDER BY p.name").fetchall()

    def sources(self, only: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        """source -> (sha256, person) of every enrolled face, or of those in ``only``."""
        query = ("SELECT f.source, f.sha256, p.name FROM faces f "
                 "JOIN people p ON p.id = f.person_id")
        if only is None:
            rows = self.conn.execute(query).fetchall()
        else:
            wanted = list(only)
            rows = []
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                rows += self.conn.execute(
                    query + f" WHERE f.source IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall()
        return {source: (digest, person) for source, digest, person in rows}

    def embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        """All face ids (N,) int64 and embeddings (N, D) float32, in id order."""
        rows = self.conn.execute("SELECT id, embedding FROM faces ORDER BY id").fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def faces(self, ids: Iterable[int] | None = None) -> list[FaceRecord]:
        """Face records, all or those with the given ids (in id order)."""
        query = ("SELECT f.id, p.name, f.source, f.sha256, f.x1, f.y1, f.x2, f.y2, "
                 "f.landmarks, f.score, f.quality, f.embedding "
                 "FROM faces f JOIN people p ON p.id = f.person_id")
        if ids is None:
            rows = self.conn.execute(query + " ORDER BY f.id").fetchall()
        else:
            wanted = [int(i) for i in ids]
            marks = ",".join("?" * len(wanted))
            rows = self.conn.execute(query + f" WHERE f.id IN ({marks}) ORDER BY f.id",
                                     wanted).fetchall() if wanted else []
        return [_record(row) for row in rows]

    def faces_of(self, name: str) -> list[FaceRecord]:
        """Every face of person ``name``, in id order (PersonNotFound if there is none)."""
        self._existing_person(self.conn, name)
        rows = self.conn.execute(
            "SELECT f.id, p.name, f.source, f.sha256, f.x1, f.y1, f.x2, f.y2, f.landmarks, "
            "f.score, f.quality, f.embedding FROM faces f JOIN people p ON p.id = f.person_id "
            "WHERE p.name = ? ORDER BY f.id", (name,)).fetchall()
        return [_record(row) for row in rows]

    def person_of(self, ids: Iterable[int]) -> dict[int, str]:
        """face id -> person name."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self.conn.execute(
            f"SELECT f.id, p.name FROM faces f JOIN people p ON p.id = f.person_id "
            f"WHERE f.id IN ({marks})", wanted)
        return dict(rows.fetchall())

    def skips(self, settings: str) -> dict[str, tuple[str, str]]:
        """source -> (sha256, reason) of the photos skipped under ``settings``."""
        rows = self.conn.execute("SELECT source, sha256, reason FROM skips WHERE settings = ?",
                                 (settings,))
        return {source: (digest, reason) for source, digest, reason in rows}

    # writes -----------------------------------------------------------------------------
    def record_skips(self, rows: Iterable[tuple[str, str, str]], settings: str) -> None:
        """Remember skipped photos as (source, sha256, reason) under ``settings``. Skips are
        not searched, so the generation (and with it the index) stays as it is."""
        rows = list(rows)
        if not rows:
            return
        with self.transaction(bump_generation=False) as conn:
            conn.executemany("INSERT OR REPLACE INTO skips(source, sha256, reason, settings) "
                             "VALUES(?, ?, ?, ?)", [(*row, settings) for row in rows])

    def replace_faces(self, add: list[NewFace], remove_sources: Iterable[str] = ()) -> list[int]:
        """Atomically remove faces by source and add new ones; returns the new ids."""
        now = time.time()
        ids = []
        with self.transaction() as conn:
            for source in remove_sources:
                conn.execute("DELETE FROM faces WHERE source = ?", (source,))
            for face in add:
                conn.execute("DELETE FROM faces WHERE source = ?", (face.source,))
                conn.execute("DELETE FROM skips WHERE source = ?", (face.source,))
                person_id = self._person_id(conn, face.person, now)
                d = face.detection
                cursor = conn.execute(
                    "INSERT INTO faces(person_id, source, sha256, x1, y1, x2, y2, landmarks, "
                    "score, quality, embedding, model, created) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (person_id, face.source, face.sha256, *d.box, json.dumps(d.landmarks),
                     d.score, face.quality, np.asarray(face.embedding, np.float32).tobytes(),
                     self.get_meta("model") or "", now))
                ids.append(int(cursor.lastrowid))
            conn.execute("DELETE FROM people WHERE id NOT IN (SELECT person_id FROM faces)")
        return ids

    def remove_person(self, name: str) -> int:
        """Delete a person and their faces; returns how many faces went."""
        with self.transaction() as conn:
            person_id = self._existing_person(conn, name)
            count = conn.execute("SELECT COUNT(*) FROM faces WHERE person_id = ?",
                                 (person_id,)).fetchone()[0]
            conn.execute("DELETE FROM faces WHERE person_id = ?", (person_id,))
            conn.execute("DELETE FROM people WHERE id = ?", (person_id,))
        return int(count)

    def rename_person(self, old: str, new: str) -> None:
        with self.transaction() as conn:
            person_id = self._existing_person(conn, old)
            if conn.execute("SELECT 1 FROM people WHERE name = ?", (new,)).fetchone():
                raise PersonExists(f"{new!r} already exists; use merge to join two people")
            conn.execute("UPDATE people SET name = ? WHERE id = ?", (new, person_id))

    def merge_people(self, source: str, target: str) -> int:
        """Move every face of ``source`` to ``target`` and delete ``source``."""
        with self.transaction() as conn:
            from_id = self._existing_person(conn, source)
            to_id = self._existing_person(conn, target)
            moved = conn.execute("UPDATE faces SET person_id = ? WHERE person_id = ?",
                                 (to_id, from_id)).rowcount
            conn.execute("DELETE FROM people WHERE id = ?", (from_id,))
        return int(moved)

    @staticmethod
    def _person_id(conn: sqlite3.Connection, name: str, now: float) -> int:
        conn.execute("INSERT OR IGNORE INTO people(name, created) VALUES(?, ?)", (name, now))
        return conn.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()[0]

    @staticmethod
    def _existing_person(conn: sqlite3.Connection, name: str) -> int:
        row = conn.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise PersonNotFound(f"no person called {name!r}")
        return int(row[0])


def _record(row: tuple) -> FaceRecord:
    (face_id, person, source, digest, x1, y1, x2, y2, landmarks, score, quality,
     blob) = row
    points = tuple(tuple(p) for p in json.loads(landmarks))
    return FaceRecord(person=person, source=source, sha256=digest,
                      detection=Detection((x1, y1, x2, y2), points, score), quality=quality,
                      embedding=np.frombuffer(blob, dtype=np.float32), id=face_id)
