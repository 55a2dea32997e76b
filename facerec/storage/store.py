"""The SQLite half of a face database: people, faces, their embeddings, and a change log.

SQLite is the source of truth; the FAISS index is a cache kept in step with it. Every
write that adds or removes faces appends to the ``changes`` log in the same transaction,
so an index that reflects change ``seq`` is brought up to date by the faces added and
removed since (``delta``), and a process killed at any moment leaves either the old or
the new state, never a mix. Renames, merges and settings touch no face and log nothing.
Face ids only grow (a removed face's id is never given again), so an id in an index
always means the same face. WAL mode lets readers work while one process writes, and
``synchronous=FULL`` makes a write durable once it returns.

A FaceStore may be handed from thread to thread, but used by one thread at a time.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facerec.errors import DatabaseDamaged, DatabaseError, PersonExists, PersonNotFound
from facerec.names import case_clash, name_key, normalize_name, validate_name
from facerec.storage.people import case_twin, refuse_case_twin
from facerec.storage.rows import FACE_COLUMNS, FACES, FaceRecord, NewFace, face_record, vectors
from facerec.storage.schema import bring_up_to_date
from facerec.storage.sqlite import (
    QUICK_CHECK_LIMIT,
    connect,
    quick_check,
    repair_hint,
    translated,
    truncate_log,
    write_transaction,
)
from facerec.storage.templates import PeopleTemplates, add_rejection, has_rejections, read_templates

_CHUNK = 500
_REQUIRED = {"meta", "people", "faces"}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Conflict:
    """A new face not stored because another person holds its photo.

    Attributes:
        source: the new face's source; owner: who holds the photo; held: under which
            source they hold it (the same source, or the same bytes elsewhere).
    """

    source: str
    owner: str
    held: str


@dataclass(frozen=True)
class Delta:
    """How the faces changed after a change-log position.

    Attributes:
        seq: the log position this delta brings an index to.
        add_ids, add_embeddings: (A,) int64 ids and (A, D) float32 embeddings of faces
            added since, and still there.
        remove_ids: (R,) int64 ids of faces that were there before and are gone now.
    """

    seq: int
    add_ids: np.ndarray
    add_embeddings: np.ndarray
    remove_ids: np.ndarray


class FaceStore:
    """People and faces in ``DIR/faces.sqlite``.

    Args:
        path: the SQLite file.
        create: make it if missing; otherwise a missing file raises DatabaseError.
        check: look for damage with SQLite's ``quick_check`` when the file is writable and
            at most ``QUICK_CHECK_LIMIT`` bytes (``facerec check`` and ``repair`` pass
            False and look themselves).

    Raises:
        DatabaseDamaged: damage was found; ReadOnlyDatabase on any write to a database
            that cannot be written.
    """

    def __init__(self, path: Path, create: bool = True, check: bool = True) -> None:
        self.path = path
        self.conn, self.writable = connect(path, create)
        tables = bring_up_to_date(self.conn, path, self.writable, FACES, _REQUIRED)
        self.logged = "changes" in tables
        if check and self.writable and path.stat().st_size <= QUICK_CHECK_LIMIT:
            problems = self.check()
            if problems:
                self.conn.close()
                raise DatabaseDamaged(f"the database {path} is damaged ({problems[0]}); "
                                      f"{repair_hint(path)}")

    def close(self) -> None:
        self.conn.close()

    def reopened(self) -> FaceStore:
        """Another store of the same database, with a connection of its own (for a
        thread that reads it beside this one)."""
        return FaceStore(self.path, create=False, check=False)

    def check(self) -> list[str]:
        """SQLite's own check of every page: the problems found, or [] when sound."""
        try:
            return quick_check(self.conn)
        except sqlite3.DatabaseError as exc:
            return [str(exc)]

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One atomic write, rolled back on any error (ReadOnlyDatabase when the
        database cannot be written)."""
        return write_transaction(self.conn, self.path, self.writable)

    # what differs between databases (``facerec.storage.postgres`` overrides these) ------
    SNAPSHOT = "BEGIN"
    """What starts a snapshot (SQLite's reads in a transaction all see one state)."""

    def _errors(self) -> AbstractContextManager[None]:
        """A block whose database failures become facerec's errors."""
        return translated(self.path)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A block whose reads all see one state of the database (a write waits)."""
        with self._errors():
            self.conn.execute(self.SNAPSHOT)
            try:
                yield
            finally:
                self.conn.execute("COMMIT")

    def has_rejections(self) -> bool:
        """Whether the rejections table is there (not in an older file opened read-only)."""
        return has_rejections(self.conn)

    def _rows(self, query: str, params: Iterable[object] = ()) -> list[tuple]:
        with self._errors():
            return self.conn.execute(query, tuple(params)).fetchall()

    def _chunked(self, query: str, values: Iterable[object]) -> list[tuple]:
        """``query`` (ending in ``IN ({})``) over ``values`` in chunks SQLite accepts."""
        wanted, rows = list(values), []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            rows += self._rows(query.format(",".join("?" * len(chunk))), chunk)
        return rows

    # meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.set_meta_items({key: value})

    def set_meta_items(self, items: dict[str, str]) -> None:
        """Set several settings in one transaction."""
        with self.transaction() as conn:
            for key, value in items.items():
                _set_meta(conn, key, value)

    def replace_meta(self, items: dict[str, str], forget: Iterable[str]) -> None:
        """Set ``items`` and forget the settings ``forget``, in one transaction."""
        with self.transaction() as conn:
            for key, value in items.items():
                _set_meta(conn, key, value)
            conn.executemany("DELETE FROM meta WHERE key = ?", [(key,) for key in forget])

    @property
    def model(self) -> str | None:
        """The id of the model whose embeddings the database holds (None while empty)."""
        return self.get_meta("model")

    @property
    def calibrated_threshold(self) -> float | None:
        """The threshold ``facerec calibrate`` stored for this database, if any."""
        stored = self.get_meta("threshold")
        return None if stored is None else float(stored)

    def settings(self) -> dict[str, str]:
        """The stored settings the decision reads: ``threshold`` and ``calibration``
        (``facerec calibrate``), ``fpir`` and ``fpir_offset`` (its open-set target)."""
        keys = ("threshold", "calibration", "fpir", "fpir_offset")
        return {key: value for key in keys if (value := self.get_meta(key)) is not None}

    def restore_settings(self, settings: dict[str, str]) -> None:
        """Write settings saved from another database (``repair``) in one transaction."""
        self.set_meta_items(settings)

    def set_open_set(self, fpir: float, offset: float, how: dict[str, object]) -> None:
        """Store the open-set target ``fpir`` and the ``offset`` the database's own faces
        ask for, with ``how`` they were chosen; a threshold stored before is dropped."""
        self.replace_meta({"fpir": repr(float(fpir)), "fpir_offset": repr(float(offset)),
                           "calibration": json.dumps(how)}, forget=["threshold"])

    def set_threshold(self, value: float, how: dict[str, object]) -> None:
        """Store ``value`` as this database's threshold, with ``how`` it was chosen."""
        self.set_meta_items({"threshold": repr(float(value)), "calibration": json.dumps(how)})

    @property
    def generation(self) -> int:
        """The change-log position of the current faces (0 before any change)."""
        if not self.logged:
            return 0
        rows = self._rows("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")
        return int(rows[0][0]) if rows else 0

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
        return self._rows(
            "SELECT p.name, COUNT(f.id) FROM people p LEFT JOIN faces f ON f.person_id = p.id "
            "GROUP BY p.id ORDER BY p.name")

    def has_people(self) -> bool:
        return bool(self._rows("SELECT 1 FROM faces LIMIT 1"))

    def embedding_size(self) -> int | None:
        """Length of the enrolled embeddings; None while no face is enrolled."""
        rows = self._rows("SELECT length(embedding) FROM faces LIMIT 1")
        return rows[0][0] // 4 if rows else None

    def count_people(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM people")[0][0])

    def count(self) -> int:
        """How many faces are enrolled."""
        return int(self._rows("SELECT COUNT(*) FROM faces")[0][0])

    def counts(self) -> tuple[int, int]:
        """(people, faces), without listing them."""
        return self.count_people(), self.count()

    def sources(self, only: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        """source -> (sha256, person) of every enrolled face, or of those in ``only``."""
        query = ("SELECT f.source, f.sha256, p.name FROM faces f "
                 "JOIN people p ON p.id = f.person_id")
        rows = self._rows(query) if only is None else \
            self._chunked(query + " WHERE f.source IN ({})", only)
        return {source: (digest, person) for source, digest, person in rows}

    def holders(self, digests: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """sha256 -> [(source, person), ...] of the enrolled faces with those bytes."""
        found: dict[str, list[tuple[str, str]]] = {}
        for digest, source, person in self._chunked(
                "SELECT f.sha256, f.source, p.name FROM faces f JOIN people p "
                "ON p.id = f.person_id WHERE f.sha256 IN ({}) ORDER BY f.id", set(digests)):
            found.setdefault(digest, []).append((source, person))
        return found

    def embedding_batches(self, size: int = 100_000
                          ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Every face as (seq, ids (B,) int64, embeddings (B, D) float32) batches in id
        order, all read in one snapshot taken at change-log position ``seq``."""
        with self.snapshot():
            seq = self.generation
            last = -1
            while True:
                rows = self.conn.execute(
                    "SELECT id, embedding FROM faces WHERE id > ? ORDER BY id LIMIT ?",
                    (last, size)).fetchall()
                if not rows:
                    return
                last = rows[-1][0]
                yield seq, *vectors(rows)

    def sample_embeddings(self, size: int, seed: int = 0) -> np.ndarray:
        """(S, D) embeddings of about ``size`` faces drawn at random (all when fewer)."""
        low, high = self._rows("SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), -1) "
                               "FROM faces")[0]
        drawn: Iterable[int]
        if high - low + 1 <= size:
            drawn = range(low, high + 1)
        else:
            drawn = np.unique(np.random.default_rng(seed).integers(low, high + 1, size))
        rows = self._chunked("SELECT id, embedding FROM faces WHERE id IN ({})",
                             [int(i) for i in drawn])
        return vectors(rows)[1]

    def changes_since(self, after: int) -> Delta | None:
        """What changed after log position ``after``; None when the log no longer reaches
        back that far (the index must then be rebuilt)."""
        if not self.logged:
            return None
        with self.snapshot():
            pruned = int(self.get_meta("changes_pruned_through") or 0)
            if after < pruned:
                return None
            seq = self.generation
            log = self.conn.execute("SELECT face_id, added FROM changes WHERE seq > ?",
                                    (after,)).fetchall()
            touched = {face_id for face_id, _ in log}
            added = {face_id for face_id, was_added in log if was_added}
            present = self._chunked("SELECT id, embedding FROM faces WHERE id IN ({})",
                                    added)
        ids, embeddings = vectors(present)
        gone = sorted(touched - added - {int(i) for i in ids})
        return Delta(seq, ids, embeddings, np.array(gone, dtype=np.int64))

    def all_faces(self, ids: Iterable[int] | None = None) -> list[FaceRecord]:
        """Every enrolled face, embeddings included, or those with the given ids (in id
        order)."""
        query = f"SELECT {FACE_COLUMNS} FROM faces f JOIN people p ON p.id = f.person_id"
        if ids is None:
            return [face_record(row) for row in self._rows(query + " ORDER BY f.id")]
        rows = self._chunked(query + " WHERE f.id IN ({})", [int(i) for i in ids])
        return [face_record(row) for row in sorted(rows)]

    def face(self, face_id: int) -> FaceRecord | None:
        """The enrolled face with id ``face_id``, if there is one."""
        found = self.all_faces([face_id])
        return found[0] if found else None

    def faces_of(self, name: str) -> list[FaceRecord]:
        """Every face of person ``name``, in id order (PersonNotFound if there is none)."""
        with self._errors():
            person_id = self._existing_person(self.conn, name)
        rows = self._rows(f"SELECT {FACE_COLUMNS} FROM faces f JOIN people p "
                          "ON p.id = f.person_id WHERE p.id = ? ORDER BY f.id", (person_id,))
        return [face_record(row) for row in rows]

    def face_ids(self, sources: Iterable[str]) -> list[int]:
        """Ids of the faces recorded under ``sources``."""
        return sorted(row[0] for row in self._chunked(
            "SELECT id FROM faces WHERE source IN ({})", list(sources)))

    def person_of(self, ids: Iterable[int]) -> dict[int, str]:
        """face id -> person name, for the ids that are enrolled."""
        return dict(self._chunked("SELECT f.id, p.name FROM faces f JOIN people p "
                                  "ON p.id = f.person_id WHERE f.id IN ({})",
                                  [int(i) for i in ids]))

    def skips(self, settings: str) -> dict[str, tuple[str, str]]:
        """source -> (sha256, reason) of the photos skipped under ``settings``."""
        rows = self._rows("SELECT source, sha256, reason FROM skips WHERE settings = ?",
                          (settings,))
        return {source: (digest, reason) for source, digest, reason in rows}

    # writes -----------------------------------------------------------------------------
    def record_skips(self, rows: Iterable[tuple[str, str, str, str]], settings: str) -> None:
        """Remember skipped photos as (source, sha256, reason, person) under ``settings``."""
        rows = list(rows)
        if rows:
            with self.transaction() as conn:
                conn.executemany("INSERT INTO skips(source, sha256, reason, person, settings) "
                                 "VALUES(?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET "
                                 "sha256 = excluded.sha256, reason = excluded.reason, "
                                 "person = excluded.person, settings = excluded.settings",
                                 [(*row, settings) for row in rows])

    def add_faces(self, add: list[NewFace], remove_sources: Iterable[str] = ()) -> list[int]:
        """Store faces (replacing any under the same source) and remove others by source,
        in one transaction; returns the new ids."""
        with self.transaction() as conn:
            return self._replace(conn, add, list(remove_sources))

    def claim_faces(self, add: list[NewFace], remove_sources: Iterable[str] = ()
                    ) -> tuple[list[int], list[Conflict]]:
        """As ``replace_faces``, but a new face whose photo (its source, or the same bytes
        under another source) another person holds is not stored: the rule that a photo
        has one owner is decided here, inside the write, so requests that passed an
        earlier check together cannot take a photo from each other. Photos listed in
        ``remove_sources`` (being moved) do not count. A face this person already has
        from the same source and bytes is not stored again either. Returns the new ids
        and the faces not stored, each with its owner (the person themself when it was
        already there)."""
        removing = set(remove_sources)
        with self.transaction() as conn:
            kept, refused = [], []
            for face in add:
                person = validate_name(face.person)
                if conn.execute("SELECT 1 FROM faces f JOIN people p ON p.id = f.person_id "
                                "WHERE f.source = ? AND f.sha256 = ? AND p.name = ?",
                                (face.source, face.sha256, person)).fetchone():
                    refused.append(Conflict(face.source, person, face.source))
                    continue
                owner = next((row for row in conn.execute(
                    "SELECT f.source, p.name FROM faces f JOIN people p ON p.id = f.person_id "
                    "WHERE (f.source = ? OR f.sha256 = ?) AND p.name != ?",
                    (face.source, face.sha256, person))
                    if row[0] not in removing), None)
                if owner is None:
                    kept.append(face)
                else:
                    refused.append(Conflict(face.source, owner[1], owner[0]))
            return self._replace(conn, kept, list(removing)), refused

    def _replace(self, conn: sqlite3.Connection, add: list[NewFace],
                 remove_sources: list[str]) -> list[int]:
        """Within a transaction: remove faces by source, add ``add``; the new ids."""
        now = time.time()
        model = _get_meta(conn, "model") or ""
        gone = _in_chunks(conn, "SELECT id, person_id FROM faces WHERE source IN ({})",
                          list(dict.fromkeys([*remove_sources, *(f.source for f in add)])))
        _delete_faces(conn, [face_id for face_id, _ in gone])
        next_id = _next_face_id(conn)
        people = _person_ids(conn, [validate_name(face.person) for face in add], now)
        ids, rows = [], []
        for face in add:
            d = face.detection
            ids.append(next_id)
            rows.append((next_id, people[validate_name(face.person)],
                         face.source, face.sha256, *d.box, json.dumps(d.landmarks),
                         d.score, face.quality,
                         np.asarray(face.embedding, np.float32).tobytes(), model, now))
            next_id += 1
        conn.executemany(
            "INSERT INTO faces(id, person_id, source, sha256, x1, y1, x2, y2, landmarks, "
            "score, quality, embedding, model, created) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("DELETE FROM skips WHERE source = ?", [(f.source,) for f in add])
        _log(conn, ids, added=True)
        if ids:
            _set_meta(conn, "last_face_id", str(ids[-1]))
        conn.executemany("DELETE FROM people WHERE id = ? AND NOT EXISTS "
                         "(SELECT 1 FROM faces WHERE person_id = ?)",
                         [(person, person) for person in {p for _, p in gone}])
        return ids

    def remove_person(self, name: str) -> list[FaceRecord]:
        """Delete a person and their faces; returns the faces removed."""
        with self.transaction() as conn:
            person_id = self._existing_person(conn, name)
            gone = [face_record(row) for row in conn.execute(
                f"SELECT {FACE_COLUMNS} FROM faces f JOIN people p ON p.id = f.person_id "
                "WHERE p.id = ? ORDER BY f.id", (person_id,))]
            _delete_faces(conn, [face.id for face in gone])
            conn.execute("DELETE FROM people WHERE id = ?", (person_id,))
        return gone

    def forget_skips(self, person: str, faces: list[FaceRecord]) -> int:
        """Forget the skipped photos of ``person``; skips recorded before skips named
        their person are forgotten when they lie in a folder of one of ``faces``.
        Returns how many were forgotten."""
        with self.transaction() as conn:
            forgotten = conn.execute("DELETE FROM skips WHERE person = ?", (person,)).rowcount
            folders = {os.path.dirname(face.source) for face in faces
                       if not face.source.startswith("upload:")}
            unnamed = [source for (source,) in conn.execute(
                "SELECT source FROM skips WHERE person IS NULL")
                if os.path.dirname(source) in folders]
            conn.executemany("DELETE FROM skips WHERE source = ?", [(s,) for s in unnamed])
        return int(forgotten) + len(unnamed)

    def has_person(self, name: str) -> bool:
        return bool(self._rows("SELECT 1 FROM people WHERE name = ?", (normalize_name(name),)))

    def remove_faces(self, ids: Iterable[int]) -> list[FaceRecord]:
        """Delete faces by id (a person left with none goes too); returns them."""
        wanted = [int(i) for i in ids]
        with self.transaction() as conn:
            gone = []
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                gone += [face_record(row) for row in conn.execute(
                    f"SELECT {FACE_COLUMNS} FROM faces f JOIN people p ON p.id = f.person_id "
                    f"WHERE f.id IN ({','.join('?' * len(chunk))}) ORDER BY f.id", chunk)]
            _delete_faces(conn, [face.id for face in gone])
            _delete_empty_people(conn)
        return gone

    def erase_photos(self, digests: Iterable[str]) -> int:
        """Delete every face of the photos with these sha256 digests (and people left
        with none), for copies of a database such as backups; returns how many went."""
        digests = list(set(digests))
        with self.transaction() as conn:
            gone = []
            for start in range(0, len(digests), _CHUNK):
                chunk = digests[start:start + _CHUNK]
                gone += [row[0] for row in conn.execute(
                    f"SELECT id FROM faces WHERE sha256 IN ({','.join('?' * len(chunk))})",
                    chunk)]
            _delete_faces(conn, gone)
            _delete_empty_people(conn)
        return len(gone)

    def truncate_log(self) -> bool:
        """Copy the write-ahead log into the database and empty it, so no older version
        of a page stays there; False when a reader in another process kept it."""
        return truncate_log(self.conn, self.path, self.writable)

    def rename(self, old: str, new: str) -> None:
        """Rename a person (InvalidName, PersonNotFound, PersonExists)."""
        new = validate_name(new)
        with self.transaction() as conn:
            person_id = self._existing_person(conn, old)
            if conn.execute("SELECT 1 FROM people WHERE name = ? AND id != ?",
                            (new, person_id)).fetchone():
                raise PersonExists(f"{new!r} already exists; use merge to join two people")
            refuse_case_twin(conn, new, person_id)
            conn.execute("UPDATE people SET name = ?, name_key = ? WHERE id = ?",
                         (new, name_key(new), person_id))
            _people_changed(conn)

    def merge(self, source: str, target: str) -> int:
        """Move every face of ``source`` to ``target``, delete ``source``; returns the
        number of faces moved. Merging a person into themself is refused."""
        with self.transaction() as conn:
            from_id = self._existing_person(conn, source)
            to_id = self._existing_person(conn, target)
            if from_id == to_id:
                raise DatabaseError(f"cannot merge {source!r} into itself; nothing changed")
            moved = conn.execute("UPDATE faces SET person_id = ? WHERE person_id = ?",
                                 (to_id, from_id)).rowcount
            conn.execute("UPDATE rejections SET person_id = ? WHERE person_id = ?",
                         (to_id, from_id))
            conn.execute("DELETE FROM people WHERE id = ?", (from_id,))
            _people_changed(conn)
        return int(moved)

    # the open-set decision's reads and rejections ------------------------------------------
    @property
    def decision_key(self) -> tuple[int, int, str]:
        """Changes whenever what ``templates`` returns may have: the change log's
        position, the face count (for databases without a log) and the people version
        (renames, merges, rejections)."""
        return self.generation, self.count(), self.get_meta("people_version") or "0"

    def templates(self) -> PeopleTemplates:
        """Every person's faces and rejected faces, read in one snapshot."""
        with self.snapshot():
            return read_templates(self.conn, self.embedding_size(),
                                  self.has_rejections())

    def reject(self, name: str, face: NewFace) -> bool:
        """Keep ``face`` as not person ``name`` (PersonNotFound if there is no such
        person); False when it already was."""
        with self.transaction() as conn:
            added = add_rejection(conn, self._existing_person(conn, name), face, time.time())
            if added:
                _people_changed(conn)
        return added

    def forget_rejections(self, name: str, digest: str) -> int:
        """Forget that the photo with bytes ``digest`` was said not to be ``name`` (it was
        said to be them after all); returns how many rejections were forgotten."""
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM people WHERE name = ?",
                               (normalize_name(name),)).fetchone()
            if row is None:
                return 0
            gone = conn.execute("DELETE FROM rejections WHERE person_id = ? AND sha256 = ?",
                                (row[0], digest)).rowcount
            if gone:
                _people_changed(conn)
        return int(gone)

    def rejection_counts(self) -> dict[str, int]:
        """person -> how many faces were marked as not them."""
        if not self.has_rejections():
            return {}
        return dict(self._rows("SELECT p.name, COUNT(*) FROM rejections r JOIN people p "
                               "ON p.id = r.person_id GROUP BY p.id"))

    def prune_changes(self, through: int) -> None:
        """Forget the change log up to position ``through`` (an index saved at or after it
        no longer needs it; an older one is rebuilt)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM changes WHERE seq <= ?", (through,))
            _set_meta(conn, "changes_pruned_through", str(through))

    def case_twin(self, name: str) -> str | None:
        """The enrolled person whose name differs from ``name`` only by case (or Unicode
        form), if ``name`` itself is not enrolled; None otherwise."""
        with self._errors():
            return case_twin(self.conn, name)

    def refuse_case_twin(self, name: str) -> None:
        """PersonExists, naming them, when ``name`` is new but for case."""
        twin = self.case_twin(name)
        if twin is not None:
            raise case_clash(name, twin)

    @staticmethod
    def _existing_person(conn: sqlite3.Connection, name: str) -> int:
        row = conn.execute("SELECT id FROM people WHERE name = ?",
                           (normalize_name(name),)).fetchone()
        if row is None:
            raise PersonNotFound(f"no person called {name!r}")
        return int(row[0])


def _in_chunks(conn: sqlite3.Connection, query: str, values: list) -> list[tuple]:
    """``query`` (ending in ``IN ({})``) over ``values`` in chunks, inside a write."""
    rows: list[tuple] = []
    for start in range(0, len(values), _CHUNK):
        chunk = values[start:start + _CHUNK]
        rows += conn.execute(query.format(",".join("?" * len(chunk))), chunk).fetchall()
    return rows


def _person_ids(conn: sqlite3.Connection, names: list[str], now: float) -> dict[str, int]:
    """The id of each person named (validated names), made for those not enrolled yet,
    in a few statements whatever their number; a new name that is another's but for case
    (enrolled, or earlier in ``names``) is refused (PersonExists)."""
    wanted = list(dict.fromkeys(names))
    ids = {name: int(person_id) for person_id, name in _in_chunks(
        conn, "SELECT id, name FROM people WHERE name IN ({})", wanted)}
    new = [name for name in wanted if name not in ids]
    if not new:
        return ids
    first_of_key: dict[str, str] = {}
    for name in new:
        twin = first_of_key.setdefault(name_key(name), name)
        if twin != name:
            raise case_clash(name, twin)
    for key, stored in _in_chunks(conn, "SELECT name_key, name FROM people "
                                        "WHERE name_key IN ({})", list(first_of_key)):
        raise case_clash(first_of_key[key], stored)
    conn.executemany("INSERT INTO people(name, name_key, created) VALUES(?, ?, ?)",
                     [(name, name_key(name), now) for name in new])
    ids.update({name: int(person_id) for person_id, name in _in_chunks(
        conn, "SELECT id, name FROM people WHERE name IN ({})", new)})
    return ids


def _get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) "
                 "DO UPDATE SET value = excluded.value", (key, value))


def _people_changed(conn: sqlite3.Connection) -> None:
    """Note, in the write's transaction, a change to who is who that the change log does
    not record (a rename, a merge, a rejection), so cached templates are read again."""
    version = int(_get_meta(conn, "people_version") or 0)
    _set_meta(conn, "people_version", str(version + 1))


def _delete_empty_people(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM people WHERE NOT EXISTS "
                 "(SELECT 1 FROM faces WHERE faces.person_id = people.id)")


def _next_face_id(conn: sqlite3.Connection) -> int:
    """One past every id ever given, so a removed face's id is never reused."""
    given = int(_get_meta(conn, "last_face_id") or 0)
    highest = conn.execute("SELECT COALESCE(MAX(id), 0) FROM faces").fetchone()[0]
    return max(given, int(highest)) + 1


def _delete_faces(conn: sqlite3.Connection, ids: list[int]) -> None:
    conn.executemany("DELETE FROM faces WHERE id = ?", [(i,) for i in ids])
    _log(conn, ids, added=False)


def _log(conn: sqlite3.Connection, ids: list[int], added: bool) -> None:
    conn.executemany("INSERT INTO changes(face_id, added) VALUES(?, ?)",
                     [(i, int(added)) for i in ids])


__all__ = ["Conflict", "DatabaseError", "Delta", "FaceRecord", "FaceStore", "NewFace",
           "PersonExists", "PersonNotFound"]
