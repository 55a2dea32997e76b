"""Names in the store: one spelling per person, whatever its Unicode form or case.

Functions over an open SQLite connection, used by ``FaceStore`` inside its transactions:
``name_key`` (NFC, case folded) is registered as an SQL function, so a new name can be
compared with every enrolled one in the database itself.
"""

from __future__ import annotations

import sqlite3

from facerec.names import case_clash, name_key, normalize_name


def allow_name_keys(conn: sqlite3.Connection) -> None:
    """Make ``name_key(name)`` callable in this connection's SQL."""
    conn.create_function("name_key", 1, name_key, deterministic=True)


def refuse_case_twin(conn: sqlite3.Connection, name: str, person_id: int = -1) -> None:
    """PersonExists when someone other than ``person_id`` has ``name`` but for case."""
    row = conn.execute("SELECT name FROM people WHERE name_key(name) = ? AND id != ?",
                       (name_key(name), person_id)).fetchone()
    if row is not None:
        raise case_clash(name, row[0])


def case_twin(conn: sqlite3.Connection, name: str) -> str | None:
    """The enrolled person whose name differs from ``name`` only by case (or Unicode
    form), if ``name`` itself is not enrolled; None otherwise."""
    name = normalize_name(name)
    row = conn.execute("SELECT name FROM people WHERE name_key(name) = ? AND name != ? "
                       "AND NOT EXISTS (SELECT 1 FROM people WHERE name = ?) LIMIT 1",
                       (name_key(name), name, name)).fetchone()
    return None if row is None else row[0]


def normalize_stored_names(conn: sqlite3.Connection) -> list[str]:
    """Bring names stored before names were normalised into NFC, once (the setting
    ``names`` then says ``nfc``); two people whose names were one name in two Unicode
    forms become one. Returns what was done, for people."""
    notes = []
    for person_id, name in conn.execute("SELECT id, name FROM people").fetchall():
        nfc = normalize_name(name)
        if nfc == name:
            continue
        twin = conn.execute("SELECT id FROM people WHERE name = ?", (nfc,)).fetchone()
        if twin is None:
            conn.execute("UPDATE people SET name = ? WHERE id = ?", (nfc, person_id))
            continue
        moved = conn.execute("UPDATE faces SET person_id = ? WHERE person_id = ?",
                             (twin[0], person_id)).rowcount
        conn.execute("DELETE FROM people WHERE id = ?", (person_id,))
        notes.append(f"{name!r} and {nfc!r} were one name written in two Unicode forms; "
                     f"their faces ({moved} moved) are now one person, {nfc!r}")
    conn.execute("INSERT INTO meta(key, value) VALUES('names', 'nfc') "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
    return notes
