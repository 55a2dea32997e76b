"""Moving a face database between a folder and PostgreSQL (either way): every person,
face, skip, rejection and setting copied into an empty database in one transaction, then
checked face for face (``facerec migrate``).

Face ids are kept, so anything that names a face by its id (a photo library's matches)
still names the same face; the change log starts afresh in the copy, with every face
added, so the indexes of processes opening it build from the faces themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from facerec.errors import DatabaseError
from facerec.names import name_key
from facerec.storage.gallery import Gallery, open_store
from facerec.storage.store import FaceStore

NOT_COPIED = {"schema", "names", "changes_pruned_through", "last_face_id", "people_version"}
"""Settings of a database's own bookkeeping, which the copy keeps for itself."""

FACE_ROW = ("f.id, p.name, f.source, f.sha256, f.x1, f.y1, f.x2, f.y2, f.landmarks, "
            "f.score, f.quality, f.embedding, f.model, f.created")


@dataclass(frozen=True)
class Copied:
    """What a copy holds, checked against its original: people, faces, skipped photos,
    faces marked as not someone, settings."""

    people: int
    faces: int
    skips: int
    rejections: int
    settings: int


def copy_database(source: str | Path, target: str | Path) -> Copied:
    """Copy the database at ``source`` into the empty one at ``target`` (each a folder or
    a PostgreSQL address; ``target`` made if missing), and check the copy.

    Raises:
        DatabaseError: no database at ``source``; ``target`` already holds people; the
            copy differs from the original (it is left as it is, for a look).
    """
    original = open_store(source, create=False)
    try:
        copy = open_store(target)
        try:
            if copy.counts() != (0, 0):
                raise DatabaseError(f"the database at {target} already holds people; "
                                    "copy into an empty one")
            _load(copy, _dump(original))
            copied = _compare(original, copy, str(target))
        finally:
            copy.close()
    finally:
        original.close()
    with Gallery(target, create=False) as opened:
        opened.load_index()  # a folder's index file, written now rather than at first use
    return copied


@dataclass(frozen=True)
class _Contents:
    faces: list[tuple]
    skips: list[tuple]
    rejections: list[tuple]
    settings: dict[str, str]


def _dump(store: FaceStore) -> _Contents:
    with store.snapshot():
        faces = store.conn.execute(f"SELECT {FACE_ROW} FROM faces f JOIN people p "
                                   "ON p.id = f.person_id ORDER BY f.id").fetchall()
        skips = store.conn.execute("SELECT source, sha256, reason, settings, person "
                                   "FROM skips ORDER BY source").fetchall()
        rejections = store.conn.execute(
            "SELECT p.name, r.source, r.sha256, r.embedding, r.created FROM rejections r "
            "JOIN people p ON p.id = r.person_id ORDER BY r.id").fetchall() \
            if store.has_rejections() else []
        settings = {key: value for key, value in store.conn.execute(
            "SELECT key, value FROM meta").fetchall() if key not in NOT_COPIED}
    return _Contents(_plain(faces), sorted(_plain(skips)), _plain(rejections), settings)


def _load(store: FaceStore, contents: _Contents) -> None:
    now = time.time()
    with store.transaction() as conn:
        people: dict[str, int] = {}
        for name in dict.fromkeys([row[1] for row in contents.faces]
                                  + [row[0] for row in contents.rejections]):
            people[name] = int(conn.execute(
                "INSERT INTO people(name, name_key, created) VALUES(?, ?, ?) RETURNING id",
                (name, name_key(name), now)).fetchone()[0])
        conn.executemany(
            "INSERT INTO faces(id, person_id, source, sha256, x1, y1, x2, y2, landmarks, "
            "score, quality, embedding, model, created) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(row[0], people[row[1]], *row[2:]) for row in contents.faces])
        conn.executemany("INSERT INTO changes(face_id, added) VALUES(?, 1)",
                         [(row[0],) for row in contents.faces])
        conn.executemany("INSERT INTO skips(source, sha256, reason, settings, person) "
                         "VALUES(?, ?, ?, ?, ?)", contents.skips)
        conn.executemany("INSERT INTO rejections(person_id, source, sha256, embedding, "
                         "created) VALUES(?, ?, ?, ?, ?)",
                         [(people[row[0]], *row[1:]) for row in contents.rejections])
        last = max((row[0] for row in contents.faces), default=0)
        for key, value in {**contents.settings, "last_face_id": str(last)}.items():
            conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) "
                         "DO UPDATE SET value = excluded.value", (key, value))


def _compare(original: FaceStore, copy: FaceStore, where: str) -> Copied:
    """What the copy holds, once it is found to hold what the original does."""
    before, after = _dump(original), _dump(copy)
    for what, mine, theirs in (("faces", before.faces, after.faces),
                               ("skipped photos", before.skips, after.skips),
                               ("rejected faces", before.rejections, after.rejections)):
        if mine != theirs:
            raise DatabaseError(f"the copy's {what} differ from the original's; the copy "
                                f"at {where} was left for a look")
    if before.settings != after.settings:
        raise DatabaseError(f"the copy's settings differ from the original's; the copy at "
                            f"{where} was left for a look")
    return Copied(len({row[1] for row in after.faces}), len(after.faces), len(after.skips),
                  len(after.rejections), len(after.settings))


def _plain(rows: list) -> list[tuple]:
    """Rows as tuples of plain values (one database's bytes and the other's compare)."""
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
            for row in rows]
