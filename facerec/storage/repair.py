"""Checking a database for damage, and saving what is readable into a new one.

SQLite's ``quick_check`` reads every page. Salvage reads the damaged file read-only,
face by face in id ranges: a range that fails is split until the unreadable faces are
found and left out, so every readable face reaches the new database, with its person,
and the settings (model, calibrated threshold) come along when readable.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from facerec.errors import DatabaseError
from facerec.storage.gallery import Gallery
from facerec.storage.rows import FACE_COLUMNS, NewFace, face_record
from facerec.storage.sqlite import connect, quick_check

SETTINGS = ("model", "threshold", "calibration", "fpir", "fpir_offset")
_RANGE = 1024
STAGING = ".repair-incomplete"

LIBRARY = "library.sqlite"
"""The photo library's file in a database folder."""


@dataclass(frozen=True)
class Salvage:
    """What ``salvage`` saved and lost."""

    faces: int
    people: int
    unreadable_ids: int
    unreadable_ranges: list[tuple[int, int]]

    def to_dict(self) -> dict[str, object]:
        return {"faces": self.faces, "people": self.people, "unreadable_ids": self.unreadable_ids,
                "unreadable_ranges": self.unreadable_ranges}


def check(folder: Path) -> list[str]:
    """The problems SQLite finds in the database file of ``folder`` ([] when sound)."""
    return _checked(folder / "faces.sqlite")


def check_library(folder: Path) -> list[str]:
    """The problems SQLite finds in the photo library's file of ``folder`` ([] when sound
    or when there is no library)."""
    path = folder / LIBRARY
    return _checked(path) if path.is_file() else []


def set_library_aside(folder: Path) -> Path | None:
    """Move a damaged photo library out of the way (``library.sqlite.damaged``, with its
    write-ahead log) and drop its vector file, so the next scan builds it again from the
    photos; returns where it went (None when there was no library)."""
    path = folder / LIBRARY
    if not path.is_file():
        return None
    aside = folder / (LIBRARY + ".damaged")
    for suffix in ("", "-wal", "-shm"):
        if (path.parent / (LIBRARY + suffix)).exists():
            os.replace(path.parent / (LIBRARY + suffix), folder / (aside.name + suffix))
    for name in ("library.vectors", "library.vectors.json"):
        (folder / name).unlink(missing_ok=True)
    return aside


def _checked(path: Path) -> list[str]:
    try:
        conn, _ = connect(path, create=False)
    except (sqlite3.DatabaseError, DatabaseError) as exc:
        return [str(exc)]
    try:
        return quick_check(conn)
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()


def salvage(source: Path, target: Path) -> Salvage:
    """Copy every readable face and setting of the database in ``source`` into a new
    database in ``target`` (which must not hold one).

    The copy is built in ``target/.repair-incomplete`` and its files are moved into
    ``target`` only when it is complete, the SQLite file last: a repair killed midway
    leaves no database in ``target`` (the next run starts the copy again), never a
    partial one that looks sound.
    """
    if (target / "faces.sqlite").exists():
        raise DatabaseError(f"{target} already holds a database; give a new folder")
    staging = target / STAGING
    if staging.exists():
        shutil.rmtree(staging)  # what a killed run left
    staging.mkdir(parents=True)
    result = _copy_readable(source, staging)
    _move_into(staging, target)
    return result


def _copy_readable(source: Path, target: Path) -> Salvage:
    conn, _ = connect(source / "faces.sqlite", create=False)
    try:
        settings = _readable_settings(conn)
        low, high = _id_bounds(conn)
        with Gallery(target) as fresh:
            fresh.restore_settings(settings)
            saved, lost = 0, 0
            bad: list[tuple[int, int]] = []
            for start in range(low, high + 1, _RANGE):
                faces, missing, ranges = _read_range(conn, start, min(start + _RANGE, high + 1))
                fresh.add_faces(faces)
                saved, lost, bad = saved + len(faces), lost + missing, bad + ranges
            people = len(fresh.people())
    finally:
        conn.close()
    return Salvage(saved, people, lost, bad)


def _move_into(staging: Path, target: Path) -> None:
    """Move the finished database's files from ``staging`` to ``target``, the SQLite
    file last, so it appears only with everything beside it."""
    for name in sorted(os.listdir(staging), key=lambda n: n == "faces.sqlite"):
        os.replace(staging / name, target / name)
    staging.rmdir()
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _readable_settings(conn: sqlite3.Connection) -> dict[str, str]:
    found = {}
    for key in SETTINGS:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError:
            continue
        if row is not None:
            found[key] = row[0]
    if "calibration" in found:
        try:
            json.loads(found["calibration"])
        except ValueError:
            found.pop("calibration")
    return found


def _id_bounds(conn: sqlite3.Connection) -> tuple[int, int]:
    try:
        low, high = conn.execute("SELECT MIN(id), MAX(id) FROM faces").fetchone()
        return int(low or 1), int(high or 0)
    except sqlite3.DatabaseError:
        return 1, 10_000_000  # the table's b-tree is damaged: probe a wide range


def _read_range(conn: sqlite3.Connection, start: int, stop: int
                ) -> tuple[list[NewFace], int, list[tuple[int, int]]]:
    """Faces with ids in [start, stop): the readable ones, how many were lost, and the
    smallest unreadable ranges."""
    try:
        rows = conn.execute(
            f"SELECT {FACE_COLUMNS} FROM faces f JOIN people p ON p.id = f.person_id "
            "WHERE f.id >= ? AND f.id < ? ORDER BY f.id", (start, stop)).fetchall()
        records = [face_record(row) for row in rows]
        return [NewFace(r.person, r.source, r.sha256, r.detection, r.quality, r.embedding)
                for r in records], 0, []
    except (sqlite3.DatabaseError, ValueError):
        if stop - start == 1:
            return [], 1, [(start, start)]
    middle = (start + stop) // 2
    left = _read_range(conn, start, middle)
    right = _read_range(conn, middle, stop)
    return left[0] + right[0], left[1] + right[1], _join(left[2] + right[2])


def _join(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    joined: list[tuple[int, int]] = []
    for low, high in ranges:
        if joined and joined[-1][1] + 1 == low:
            joined[-1] = (joined[-1][0], high)
        else:
            joined.append((low, high))
    return joined
