"""Schema versions: a store's tables are a numbered list of steps, and each file records
in SQLite's ``user_version`` how many it has had.

Opening a writable file runs the steps it lacks, in order, each in one transaction with
its new number, so a process killed mid-way leaves the file at the last whole step. A
file from a newer facerec (a number past the last step) is refused rather than guessed
at; a read-only file is read as it is. Files written before versions were numbered read
0: the first step of each store brings any of them, whatever it had, to version 1.

A change to a schema is a new step at the end, never an edit of an old one, and a copy
of the files it writes kept as test fixtures (``scripts/make_schema_fixtures.py``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from facerec.errors import DatabaseError
from facerec.storage.sqlite import translated, write_transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One change of a schema: what it does, and the function that does it inside the
    step's transaction (returning notes for the user, if any)."""

    does: str
    run: Callable[[sqlite3.Connection], list[str]]


@dataclass(frozen=True)
class Schema:
    """A store's steps; ``kind`` names its files in messages ("face database")."""

    kind: str
    steps: tuple[Step, ...]

    @property
    def version(self) -> int:
        """The version a file has after every step."""
        return len(self.steps)


def tables_of(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def version_of(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def bring_up_to_date(conn: sqlite3.Connection, path: Path, writable: bool,
                     schema: Schema, required: set[str]) -> set[str]:
    """Run the steps the file of ``conn`` lacks; returns its tables then. On any error
    ``conn`` is closed.

    Args:
        required: tables every file of this store has: a file with tables but not these
            belongs to another program and is left untouched.

    Raises:
        DatabaseError: the file belongs to another program (or is empty and read-only),
            or was written by a newer facerec.
    """
    try:
        _run_missing_steps(conn, path, writable, schema, required)
        with translated(path):
            tables = tables_of(conn)
        if not required <= tables:
            raise DatabaseError(f"{path}: not a facerec {schema.kind}")
    except BaseException:
        conn.close()
        raise
    return tables


def _run_missing_steps(conn: sqlite3.Connection, path: Path, writable: bool,
                       schema: Schema, required: set[str]) -> None:
    with translated(path):
        tables, found = tables_of(conn), version_of(conn)
    if tables and not required <= tables:
        raise DatabaseError(f"{path}: not a facerec {schema.kind}")
    if found > schema.version:
        raise DatabaseError(
            f"{path}: this {schema.kind} was written by a newer facerec (schema version "
            f"{found}; this one reads up to {schema.version}); upgrade facerec to open it")
    if not writable:
        return
    for number, step in enumerate(schema.steps[found:], start=found + 1):
        with write_transaction(conn, path, writable) as step_conn:
            if version_of(step_conn) >= number:
                continue  # another process opening the file ran this step first
            for note in step.run(step_conn):
                log.warning("%s", note)
            step_conn.execute(f"PRAGMA user_version = {number}")
        log.debug("%s: %s (schema version %d)", path, step.does, number)


def statements(script: str) -> Callable[[sqlite3.Connection], list[str]]:
    """A step that runs each statement of ``script`` (``executescript`` would commit the
    step's transaction half-way)."""
    def run(conn: sqlite3.Connection) -> list[str]:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
        return []
    return run


def columns_of(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
