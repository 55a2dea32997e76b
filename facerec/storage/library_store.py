"""The SQLite half of a photo library: the photos scanned, every face in them, and who
each face is nearest to among the enrolled faces.

A library lives beside the face database, in ``DIR/library.sqlite``. A **photo** is one
content (its sha256): the same bytes under two paths, or moved to a new path, are one
photo, analysed once. A **file** is a path with the size and mtime it had when read, so
an unchanged file is never read again. Each **face** keeps its detection, quality and
embedding, and its **match**: the id of the nearest enrolled face (``Gallery``) and their
similarity, or none when nothing enrolled comes within the library's floor. Names are
never stored: a face's person is its match's person at the moment of asking, so renames
and merges need no work here, and a removed person's faces are found by their ids.

A face's match lives in its own narrow table (``matches``), away from the embeddings, so
re-matching rewrites a few small pages rather than the rows that hold the vectors.
Every change is one transaction; face ids only grow (``AUTOINCREMENT``), so an id in the
vector cache (``library_vectors``) always means the same face, and the ids of deleted
faces wait in ``erased`` until the cache has overwritten their rows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facerec.storage.rows import vectors
from facerec.storage.schema import Schema, Step, bring_up_to_date, statements
from facerec.storage.sqlite import (
    connect,
    inserted_id,
    translated,
    truncate_log,
    write_transaction,
)
from facerec.types import Detection

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS photos (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    taken TEXT,
    turned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    photo_id INTEGER NOT NULL REFERENCES photos(id),
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_photo ON files(photo_id);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    photo_id INTEGER NOT NULL REFERENCES photos(id),
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
    landmarks TEXT NOT NULL,
    score REAL NOT NULL,
    quality REAL NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS faces_photo ON faces(photo_id);
CREATE TABLE IF NOT EXISTS matches (
    face_id INTEGER PRIMARY KEY,
    match_id INTEGER,
    similarity REAL
);
CREATE INDEX IF NOT EXISTS matches_match ON matches(match_id);
CREATE TABLE IF NOT EXISTS skips (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS erased (face_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS sidecars (path TEXT PRIMARY KEY, regions TEXT NOT NULL);
"""

LIBRARY = Schema("photo library", (
    Step("the tables: photos, files, faces, matches, skips, erasures, sidecars",
         statements(SCHEMA)),
))
"""The photo library's versions (``facerec.storage.schema``): add steps, never edit one."""
_REQUIRED = {"meta", "photos", "files", "faces"}

_CHUNK = 500
WAL_PAGES = 16_384
"""Pages (64 MiB) the write-ahead log grows to before SQLite copies it back."""


_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class FileState:
    """A file as it was when read: ``size`` in bytes, ``mtime_ns`` its modification time.

    SQLite keeps 64-bit integers, which reach the year 2262 in nanoseconds; a file
    system can hold later times (``touch -d 2300-01-01``), which are kept as the latest
    (or earliest) it can store, so such a file is stored and compared like any other."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> FileState:
        """The state of a file from its ``os.stat``."""
        return cls(info.st_size, min(max(info.st_mtime_ns, _INT64[0]), _INT64[1]))


@dataclass(frozen=True)
class ScannedFace:
    """A face found in a library photo. ``embedding`` is (D,) float32, unit length;
    ``match_id`` the nearest enrolled face within the floor (None: none), with
    ``similarity``."""

    detection: Detection
    quality: float
    embedding: np.ndarray
    match_id: int | None = None
    similarity: float | None = None


@dataclass(frozen=True)
class ScannedPhoto:
    """A photo analysed for the library: the file it was read from, its content and
    faces. ``size`` is (width, height) after EXIF rotation; ``taken`` the EXIF date taken
    (ISO 8601) when the photo has one; ``turned`` the turn its faces were found at."""

    path: str
    state: FileState
    sha256: str
    size: tuple[int, int]
    taken: str | None
    turned: int
    faces: list[ScannedFace]


@dataclass(frozen=True)
class StoredFace:
    """A face of the library as stored: ``id``, which photo, where, its match."""

    id: int
    photo_id: int
    detection: Detection
    match_id: int | None
    similarity: float | None


@dataclass(frozen=True)
class StoredPhoto:
    """A photo of the library: one of its paths, its content and when it was taken
    (``taken``, else the file's mtime as ISO 8601)."""

    id: int
    path: str
    sha256: str
    size: tuple[int, int]
    taken: str | None


class LibraryStore:
    """Photos, files and faces in ``path`` (``DIR/library.sqlite``).

    Args:
        path: the SQLite file.
        create: make it if missing; otherwise a missing file raises DatabaseError.
    """

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        self.conn, self.writable = connect(path, create)
        with translated(path):
            if self.writable:
                # derived from the photos: a commit is not synced to the disk (a killed
                # process loses nothing; a power cut may lose the last batches, which the
                # next scan reads again), and the write-ahead log is copied back in larger,
                # rarer steps, so a catch-up that updates a few thousand faces costs no
                # disk flush
                self.conn.execute("PRAGMA synchronous=NORMAL")
                self.conn.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        bring_up_to_date(self.conn, path, self.writable, LIBRARY, _REQUIRED)

    def close(self) -> None:
        self.conn.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One atomic write, rolled back on any error (ReadOnlyDatabase when the
        database cannot be written)."""
        return write_transaction(self.conn, self.path, self.writable)

    def _rows(self, query: str, params: Iterable[object] = ()) -> list[tuple]:
        with translated(self.path):
            return self.conn.execute(query, tuple(params)).fetchall()

    def _chunked(self, query: str, values: Iterable[object],
                 params: tuple[object, ...] = ()) -> list[tuple]:
        """``query`` (with one ``IN ({})``) over ``values`` in chunks SQLite accepts;
        ``params`` bind before the chunk."""
        wanted, rows = list(values), []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            rows += self._rows(query.format(",".join("?" * len(chunk))), (*params, *chunk))
        return rows

    # settings -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, items: dict[str, str]) -> None:
        with self.transaction() as conn:
            for key, value in items.items():
                _set_meta(conn, key, value)

    @property
    def identity(self) -> str:
        """A random id given to this library file when it was made (or first opened
        writable): the vectors file names it, so a library file deleted and made again,
        or swapped for another, is never read with the vectors of the one before."""
        found = self.get_meta("identity")
        if found is None and self.writable:
            found = uuid.uuid4().hex
            self.set_meta({"identity": found})
        return found or ""

    @property
    def last_face_id(self) -> int:
        """The highest face id ever given (ids only grow; 0 before the first face); an
        older copy of the file put back has a lower one."""
        if not self._rows("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"):
            return 0
        rows = self._rows("SELECT seq FROM sqlite_sequence WHERE name = 'faces'")
        return int(rows[0][0]) if rows else 0

    # files --------------------------------------------------------------------------------
    def files(self) -> dict[str, tuple[FileState, int]]:
        """path -> (state when read, photo id) of every file in the library."""
        return {path: (FileState(size, mtime), photo) for path, photo, size, mtime in
                self._rows("SELECT path, photo_id, size, mtime_ns FROM files")}

    def skipped(self) -> dict[str, tuple[FileState, str]]:
        """path -> (state when tried, reason) of the files that gave no photo."""
        return {path: (FileState(size, mtime), reason) for path, size, mtime, reason in
                self._rows("SELECT path, size, mtime_ns, reason FROM skips")}

    def photos_by_digest(self, digests: Iterable[str]) -> dict[str, int]:
        """sha256 -> photo id, for the digests the library already holds."""
        return dict(self._chunked("SELECT sha256, id FROM photos WHERE sha256 IN ({})",
                                  set(digests)))

    def add_photos(self, photos: list[ScannedPhoto]) -> list[int]:
        """Store analysed photos with their faces and files, in one transaction (a file
        that showed other bytes before now shows these); returns the new face ids."""
        ids: list[int] = []
        with self.transaction() as conn:
            left: set[int] = set()
            for photo in photos:
                row = conn.execute("SELECT id FROM photos WHERE sha256 = ?",
                                   (photo.sha256,)).fetchone()
                if row is not None:  # the same bytes came under two paths in one batch
                    left |= _link(conn, photo.path, int(row[0]), photo.state)
                    continue
                photo_id = inserted_id(conn.execute(
                    "INSERT INTO photos(sha256, width, height, taken, turned) "
                    "VALUES(?, ?, ?, ?, ?)", (photo.sha256, *photo.size, photo.taken,
                                              photo.turned)))
                for face in photo.faces:
                    d = face.detection
                    face_id = inserted_id(conn.execute(
                        "INSERT INTO faces(photo_id, x1, y1, x2, y2, landmarks, score, "
                        "quality, embedding) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (photo_id, *d.box, json.dumps(d.landmarks), d.score, face.quality,
                         np.asarray(face.embedding, np.float32).tobytes())))
                    conn.execute("INSERT INTO matches(face_id, match_id, similarity) "
                                 "VALUES(?, ?, ?)", (face_id, face.match_id, face.similarity))
                    ids.append(face_id)
                left |= _link(conn, photo.path, photo_id, photo.state)
            _drop_orphans(conn, left)
        return ids

    def link(self, files: list[tuple[str, FileState, int]]) -> None:
        """Record files as showing photos the library already holds (a moved, renamed or
        copied photo): (path, state, photo id)."""
        with self.transaction() as conn:
            left: set[int] = set()
            for path, state, photo_id in files:
                left |= _link(conn, path, photo_id, state)
            _drop_orphans(conn, left)

    def record_skips(self, rows: list[tuple[str, FileState, str]]) -> None:
        """Remember files that gave no photo, as (path, state, reason); a file recorded
        before under that path is no longer in the library."""
        with self.transaction() as conn:
            left: set[int] = set()
            for path, state, reason in rows:
                left |= _unlink(conn, path)
                conn.execute("INSERT OR REPLACE INTO skips(path, size, mtime_ns, reason) "
                             "VALUES(?, ?, ?, ?)", (path, state.size, state.mtime_ns, reason))
            _drop_orphans(conn, left)

    def drop_files(self, paths: Iterable[str]) -> int:
        """Forget files (gone from disk); a photo left with no file goes with its faces.
        Returns how many files were forgotten."""
        with self.transaction() as conn:
            left: set[int] = set()
            dropped = 0
            for path in paths:
                gone = _unlink(conn, path)
                dropped += len(gone)
                left |= gone
                conn.execute("DELETE FROM skips WHERE path = ?", (path,))
            _drop_orphans(conn, left)
        return dropped

    def forget_photos(self, photo_ids: Iterable[int]) -> int:
        """Forget photos: their files, faces and what was written into their sidecars
        (a scan reads a file still there again, as a new photo). Returns the faces
        forgotten."""
        wanted = {int(i) for i in photo_ids}
        with self.transaction() as conn:
            faces = 0
            for photo_id in wanted:
                for (path,) in conn.execute("SELECT path FROM files WHERE photo_id = ?",
                                            (photo_id,)).fetchall():
                    _unlink(conn, path)
                    conn.execute("DELETE FROM sidecars WHERE path = ?", (path,))
                faces += conn.execute("SELECT COUNT(*) FROM faces WHERE photo_id = ?",
                                      (photo_id,)).fetchone()[0]
            _drop_orphans(conn, wanted)
        return int(faces)

    def photos_of_faces(self, face_ids: Iterable[int]) -> set[int]:
        """Ids of the photos the given faces are in."""
        return {row[0] for row in self._chunked(
            "SELECT DISTINCT photo_id FROM faces WHERE id IN ({})", [int(i) for i in face_ids])}

    def truncate_log(self) -> bool:
        """Empty the write-ahead log into the database (see ``sqlite.truncate_log``)."""
        return truncate_log(self.conn, self.path, self.writable)

    # faces and their vectors --------------------------------------------------------------
    def embeddings_after(self, last: int, size: int = 100_000
                         ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Faces with id above ``last`` as (ids (B,) int64, embeddings (B, D) float32)
        batches, in id order."""
        while True:
            rows = self._rows("SELECT id, embedding FROM faces WHERE id > ? ORDER BY id "
                              "LIMIT ?", (last, size))
            if not rows:
                return
            last = rows[-1][0]
            yield vectors(rows)

    def embeddings_of(self, ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids (B,) int64, embeddings (B, D) float32) of the faces among ``ids``."""
        return vectors(sorted(self._chunked("SELECT id, embedding FROM faces WHERE id IN ({})",
                                            [int(i) for i in ids])))

    def erased(self) -> list[int]:
        """Ids of deleted faces whose cached vectors have not been overwritten yet."""
        return [row[0] for row in self._rows("SELECT face_id FROM erased")]

    def forget_erased(self, ids: Iterable[int]) -> None:
        with self.transaction() as conn:
            conn.executemany("DELETE FROM erased WHERE face_id = ?", [(int(i),) for i in ids])

    # matches ------------------------------------------------------------------------------
    def matched_to(self, enrolled_ids: Iterable[int]) -> list[int]:
        """Ids of the faces whose match is one of ``enrolled_ids``."""
        return [row[0] for row in self._chunked(
            "SELECT face_id FROM matches WHERE match_id IN ({})",
            [int(i) for i in enrolled_ids])]

    def set_matches(self, rows: Iterable[tuple[int, int | None, float | None]]) -> None:
        """Record (face id, match id, similarity) rows in one transaction."""
        with self.transaction() as conn:
            conn.executemany("UPDATE matches SET match_id = ?, similarity = ? "
                             "WHERE face_id = ?",
                             [(match, sim, face) for face, match, sim in rows])

    def offer_matches(self, rows: Iterable[tuple[int, int, float]],
                      meta: dict[str, str] | None = None) -> int:
        """Give each face of (face id, match id, similarity) rows that match where it is
        nearer than the face's own, and record settings ``meta``, in one transaction;
        returns how many faces took theirs."""
        with self.transaction() as conn:
            taken = conn.executemany(
                "UPDATE matches SET match_id = ?, similarity = ? WHERE face_id = ? "
                "AND (similarity IS NULL OR similarity < ?)",
                [(match, sim, face, sim) for face, match, sim in rows]).rowcount
            for key, value in (meta or {}).items():
                _set_meta(conn, key, value)
        return int(taken)

    # questions ----------------------------------------------------------------------------
    def faces_matched(self, enrolled_ids: Iterable[int], threshold: float
                      ) -> list[StoredFace]:
        """The faces whose match is one of ``enrolled_ids`` at ``threshold`` or above."""
        return [_stored_face(row) for row in self._chunked(
            f"SELECT {_FACE_COLUMNS} FROM faces f JOIN matches m ON m.face_id = f.id "
            "WHERE m.similarity >= ? AND m.match_id IN ({})",
            [int(i) for i in enrolled_ids], (threshold,))]

    def photos_with_unknown(self, known_ids: Iterable[int], threshold: float) -> list[int]:
        """Ids of the photos with a face that matches none of ``known_ids`` at
        ``threshold``."""
        known = {int(i) for i in known_ids}
        return sorted({photo for photo, match, sim in self._rows(
            "SELECT f.photo_id, m.match_id, m.similarity FROM faces f "
            "JOIN matches m ON m.face_id = f.id")
            if match is None or sim < threshold or match not in known})

    def match_ids(self) -> list[int]:
        """Every enrolled face id some library face is matched to."""
        return [row[0] for row in self._rows(
            "SELECT DISTINCT match_id FROM matches WHERE match_id IS NOT NULL")]

    def faces_in(self, photo_ids: Iterable[int]) -> list[StoredFace]:
        """Every face of the given photos, by photo then id."""
        return sorted((_stored_face(row) for row in self._chunked(
            f"SELECT {_FACE_COLUMNS} FROM faces f JOIN matches m ON m.face_id = f.id "
            "WHERE f.photo_id IN ({})",
            [int(i) for i in photo_ids])), key=lambda face: (face.photo_id, face.id))

    def photos(self, photo_ids: Iterable[int]) -> list[StoredPhoto]:
        """The given photos, one row per file showing them, newest first (date taken,
        else the file's mtime)."""
        rows = self._chunked(
            "SELECT p.id, f.path, p.sha256, p.width, p.height, p.taken, "
            "COALESCE(p.taken, strftime('%Y-%m-%dT%H:%M:%S', f.mtime_ns / 1e9, "
            "'unixepoch', 'localtime')) AS shown FROM photos p JOIN files f "
            "ON f.photo_id = p.id WHERE p.id IN ({})", [int(i) for i in photo_ids])
        rows.sort(key=lambda row: row[1])
        rows.sort(key=lambda row: row[6], reverse=True)
        return [StoredPhoto(pid, path, digest, (w, h), taken)
                for pid, path, digest, w, h, taken, _ in rows]

    def photo_at(self, path: str) -> tuple[FileState, int] | None:
        """The state a file had when read and its photo id, if the library has it."""
        rows = self._rows("SELECT size, mtime_ns, photo_id FROM files WHERE path = ?",
                          (path,))
        return (FileState(rows[0][0], rows[0][1]), int(rows[0][2])) if rows else None

    def sidecars(self) -> dict[str, list]:
        """photo path -> the regions last written into its sidecar, as JSON values."""
        return {path: json.loads(regions) for path, regions in
                self._rows("SELECT path, regions FROM sidecars")}

    def photo_size(self, path: str) -> tuple[int, int] | None:
        """(width, height) of the photo the file at ``path`` shows, if the library has it."""
        rows = self._rows("SELECT p.width, p.height FROM files f JOIN photos p "
                          "ON p.id = f.photo_id WHERE f.path = ?", (path,))
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    def record_sidecar(self, path: str, regions: list) -> None:
        """Remember the regions written into the sidecar of the photo at ``path``."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO sidecars(path, regions) VALUES(?, ?)",
                         (path, json.dumps(regions)))

    def paths_of(self, sha256: str) -> list[str]:
        """The files showing the photo with that digest, by path."""
        return [row[0] for row in self._rows(
            "SELECT f.path FROM files f JOIN photos p ON p.id = f.photo_id "
            "WHERE p.sha256 = ? ORDER BY f.path", (sha256,))]

    def counts(self) -> tuple[int, int, int]:
        """(files, photos, faces)."""
        return tuple(int(self._rows(f"SELECT COUNT(*) FROM {table}")[0][0])  # type: ignore
                     for table in ("files", "photos", "faces"))


_FACE_COLUMNS = ("f.id, f.photo_id, f.x1, f.y1, f.x2, f.y2, f.landmarks, f.score, m.match_id, "
                 "m.similarity")


def _stored_face(row: tuple) -> StoredFace:
    face_id, photo_id, x1, y1, x2, y2, landmarks, score, match, sim = row
    return StoredFace(face_id, photo_id,
                      Detection.of((x1, y1, x2, y2), json.loads(landmarks), score), match, sim)


def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) "
                 "DO UPDATE SET value = excluded.value", (key, value))


def _link(conn: sqlite3.Connection, path: str, photo_id: int, state: FileState) -> set[int]:
    """Record ``path`` as showing photo ``photo_id``; returns the photo it showed before
    (if another), which may be left with no file."""
    before = _unlink(conn, path) - {photo_id}
    conn.execute("INSERT INTO files(path, photo_id, size, mtime_ns) VALUES(?, ?, ?, ?)",
                 (path, photo_id, state.size, state.mtime_ns))
    conn.execute("DELETE FROM skips WHERE path = ?", (path,))
    return before


def _unlink(conn: sqlite3.Connection, path: str) -> set[int]:
    """Forget the file at ``path``; returns the photo it showed ({} if none)."""
    row = conn.execute("DELETE FROM files WHERE path = ? RETURNING photo_id",
                       (path,)).fetchone()
    return set() if row is None else {int(row[0])}


def _drop_orphans(conn: sqlite3.Connection, photo_ids: set[int]) -> None:
    """Delete those of ``photo_ids`` that no file shows any more, and their faces (their
    ids wait in ``erased`` until the vector cache has overwritten them)."""
    for photo_id in photo_ids:
        if conn.execute("SELECT 1 FROM files WHERE photo_id = ? LIMIT 1",
                        (photo_id,)).fetchone():
            continue
        conn.execute("INSERT OR IGNORE INTO erased(face_id) SELECT id FROM faces "
                     "WHERE photo_id = ?", (photo_id,))
        conn.execute("DELETE FROM matches WHERE face_id IN (SELECT id FROM faces "
                     "WHERE photo_id = ?)", (photo_id,))
        conn.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))
        conn.execute("DELETE FROM photos WHERE id = ?", (photo_id,))
