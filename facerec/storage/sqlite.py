"""Opening a database's SQLite file, and turning SQLite's failures into facerec's errors.

A database opens read-write when it can. On a read-only folder or medium (a mounted
backup, a shared folder) it opens read-only, and if SQLite cannot even share the file's
WAL index there, as immutable: every read works, every write raises ReadOnlyDatabase
saying so. A file damaged on disk raises DatabaseDamaged, with how to recover, wherever
the damage is met; ``quick_check`` looks for it on purpose (``FaceStore.check``).
A writable connection has ``secure_delete`` on, whatever this SQLite build's default:
deleted rows are overwritten with zeros, not left in free pages.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from facerec.errors import DatabaseDamaged, DatabaseError, ReadOnlyDatabase

QUICK_CHECK_LIMIT = 256 * 1024 * 1024
"""Files up to this size are checked for damage (``PRAGMA quick_check``) when opened for
writing; a larger one is checked by ``facerec check``, and met damage is reported anyway."""

_DAMAGE = ("malformed", "not a database", "corrupt", "disk i/o error")
_READ_ONLY = ("readonly", "read-only", "read only")


def repair_hint(path: Path) -> str:
    folder = path.parent
    if path.name == "library.sqlite":
        return (f"run `facerec check --db {folder}` for details, and `facerec repair --db "
                f"{folder} --library` to set the photo library aside and scan again")
    return (f"run `facerec check --db {folder}` for details, and `facerec repair --db {folder} "
            f"--out NEW_FOLDER` to save what is readable into a new database")


def translate(exc: sqlite3.Error, path: Path) -> DatabaseError:
    """The facerec error for an SQLite failure on the database at ``path``."""
    text = str(exc).lower()
    if any(word in text for word in _DAMAGE):
        return DatabaseDamaged(f"the database {path} is damaged ({exc}); {repair_hint(path)}")
    if any(word in text for word in _READ_ONLY):
        return ReadOnlyDatabase(f"the database {path.parent} is read-only: its folder or "
                                "medium cannot be written to; nothing was changed")
    return DatabaseError(f"{path}: {exc}")


@contextmanager
def translated(path: Path) -> Iterator[None]:
    """Run a block, raising facerec's error for any SQLite failure in it."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, path) from None


@contextmanager
def write_transaction(conn: sqlite3.Connection, path: Path, writable: bool
                      ) -> Iterator[sqlite3.Connection]:
    """One atomic write on ``conn`` (the database at ``path``), rolled back on any error.

    Raises:
        ReadOnlyDatabase: ``writable`` is False (the folder or medium is read-only).
    """
    if not writable:
        raise ReadOnlyDatabase(f"the database {path.parent} is read-only: its folder "
                               "or medium cannot be written to; nothing was changed")
    with translated(path):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def truncate_log(conn: sqlite3.Connection, path: Path, writable: bool) -> bool:
    """Copy the write-ahead log of ``conn`` (the database at ``path``) into the database
    and empty it, so no older version of a page (a deleted row's) stays there; False when
    a reader in another process kept it, or the database is read-only."""
    if not writable:
        return False
    with translated(path):
        conn.execute("PRAGMA busy_timeout=2000")
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.execute("PRAGMA busy_timeout=60000")
    return busy == 0


def connect(path: Path, create: bool) -> tuple[sqlite3.Connection, bool]:
    """Open ``path``; returns the connection and whether it is writable.

    Raises:
        DatabaseError: no database there and ``create`` is False, or it cannot be opened.
    """
    if path.is_file():
        with open(path, "rb") as fh:
            header = fh.read(16)
        if header and header != b"SQLite format 3\x00":
            raise DatabaseError(f"{path}: not a facerec database (not an SQLite file)")
    else:
        if not create:
            raise DatabaseError(f"no face database at {path.parent} "
                                "(enroll people first, or check --db)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the database folder {path.parent}: "
                                f"{exc.strerror or exc}") from None
    if _writable(path):
        try:
            return _open(path, "rwc" if create else "rw"), True
        except sqlite3.Error as exc:
            error = translate(exc, path)
            if not isinstance(error, ReadOnlyDatabase):
                raise error from None
    for mode in ("ro", "ro&immutable=1"):
        try:
            conn = _open(path, mode)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn, False
        except sqlite3.Error as exc:
            last = exc
    raise translate(last, path)


def _writable(path: Path) -> bool:
    """Whether the file and its folder can be written (the WAL files live beside it)."""
    probe = path if path.exists() else path.parent
    if not os.access(probe, os.W_OK) or not os.access(path.parent, os.W_OK):
        return False
    try:
        return not os.statvfs(path.parent).f_flag & os.ST_RDONLY
    except OSError as exc:
        return exc.errno != errno.EROFS


def _open(path: Path, mode: str) -> sqlite3.Connection:
    uri = f"file:{quote(path.absolute().as_posix())}?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None,
                           check_same_thread=False)
    try:
        if mode.startswith("rw"):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA secure_delete=ON")  # deleted faces are overwritten
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def quick_check(conn: sqlite3.Connection, limit: int = 20) -> list[str]:
    """SQLite's own consistency check of every page; the problems found (none: [])."""
    rows = [row[0] for row in conn.execute(f"PRAGMA quick_check({int(limit)})")]
    return [] if rows == ["ok"] else rows


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The row id an INSERT gave its row."""
    if cursor.lastrowid is None:
        raise DatabaseError("an insert gave no row id")
    return cursor.lastrowid
