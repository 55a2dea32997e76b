"""Names in the store: one spelling per person, whatever its Unicode form or case.

Functions over an open connection, used by ``FaceStore`` inside its transactions. Each
person's ``name_key`` (NFC, case folded: ``facerec.names.name_key``) is stored beside
the name and indexed, so a new name is compared with every enrolled one by one indexed
lookup, in any SQL database.
"""

from __future__ import annotations

import sqlite3

from facerec.names import case_clash, name_key, normalize_name
from facerec.storage.schema import columns_of


def _same_key(conn: sqlite3.Connection, name: str) -> list[tuple[int, str]]:
    """(id, name) of the people whose name has ``name``'s key."""
    key = name_key(name)
    try:
        rows = conn.execute("SELECT id, name FROM people WHERE name_key = ?",
                            (key,)).fetchall()
    except sqlite3.OperationalError:  # an older file opened read-only has no keys stored
        rows = [row for row in conn.execute("SELECT id, name FROM people").fetchall()
                if name_key(row[1]) == key]
    return [(int(person_id), stored) for person_id, stored in rows]


def store_name_keys(conn: sqlite3.Connection) -> list[str]:
    """Keep every person's name key beside the name, indexed (a schema step: the people
    of files written before keys were stored)."""
    if "name_key" not in columns_of(conn, "people"):
        conn.execute("ALTER TABLE people ADD COLUMN name_key TEXT")
    conn.executemany("UPDATE people SET name_key = ? WHERE id = ?",
                     [(name_key(name), person_id) for person_id, name
                      in conn.execute("SELECT id, name FROM people").fetchall()])
    conn.execute("CREATE INDEX IF NOT EXISTS people_name_key ON people(name_key)")
    return []


def refuse_case_twin(conn: sqlite3.Connection, name: str, person_id: int = -1) -> None:
    """PersonExists when someone other than ``person_id`` has ``name`` but for case."""
    twin = next((stored for other, stored in _same_key(conn, name) if other != person_id),
                None)
    if twin is not None:
        raise case_clash(name, twin)


def case_twin(conn: sqlite3.Connection, name: str) -> str | None:
    """The enrolled person whose name differs from ``name`` only by case (or Unicode
    form), if ``name`` itself is not enrolled; None otherwise."""
    name = normalize_name(name)
    names = [stored for _, stored in _same_key(conn, name)]
    return None if name in names else next(iter(names), None)


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
