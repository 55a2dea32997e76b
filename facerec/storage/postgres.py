"""PostgreSQL as a face database's home: the address a user gives
(``postgresql://USER@HOST[:PORT]/NAME``), checked, and a connection made from it.

The password never comes from the address or a flag, where other users of the machine
read it in the process list and shells keep it in their history: the driver (libpq)
reads ``$PGPASSWORD``, a ``~/.pgpass`` file (or the one ``$PGPASSFILE`` names). TLS is
the address's ``sslmode`` (``?sslmode=verify-full`` to insist on a verified server);
libpq's default, ``prefer``, uses TLS whenever the server offers it. The driver is
psycopg 3 (``pip install 'facerec[postgres]'``), imported only when an address is used.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qs, urlsplit

from facerec.errors import DatabaseError, DatabaseUnavailable
from facerec.storage.store import FaceStore

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql", "postgres")
INSTALL = "PostgreSQL needs psycopg: pip install 'facerec[postgres]'"


def is_postgres(address: str | Path) -> bool:
    """Whether a ``--db`` value names a PostgreSQL database rather than a folder."""
    return isinstance(address, str) and urlsplit(address).scheme in SCHEMES


def checked_address(address: str) -> str:
    """``address`` when it names a PostgreSQL database without a password in it.

    Raises:
        DatabaseError: not a ``postgresql://`` address, no database name, or a password
            in it (which is not repeated in the message).
    """
    parts = urlsplit(address)
    if parts.scheme not in SCHEMES:
        raise DatabaseError("a PostgreSQL database is named postgresql://USER@HOST[:PORT]/NAME")
    query = parse_qs(parts.query)
    if parts.password is not None or "password" in query:
        raise DatabaseError(
            f"a password in the database address of {_host(parts.hostname)} is refused (it "
            "would show in the process list and the shell's history); give it in "
            "$PGPASSWORD or a .pgpass file")
    if not parts.path.strip("/"):
        raise DatabaseError(f"the address of {_host(parts.hostname)} names no database "
                            "(postgresql://USER@HOST[:PORT]/NAME)")
    return address


def connect(address: str) -> psycopg.Connection:
    """A connection to the database ``address`` names (see ``checked_address``), in
    autocommit mode: every write says where its transaction begins and ends.

    Raises:
        DatabaseError: psycopg is not installed, or the server cannot be reached or
            refuses the connection (its reason, without the password).
    """
    checked_address(address)
    try:
        import psycopg
    except ImportError:
        raise DatabaseError(INSTALL) from None
    try:
        return psycopg.connect(address, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        host = _host(urlsplit(address).hostname)
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        kind = DatabaseUnavailable if unreachable(exc) else DatabaseError
        raise kind(f"cannot open the database at {host}: {reason}") from None


def unreachable(exc: Exception) -> bool:
    """Whether a driver error means the server cannot be reached now (no answer, a
    connection lost, the server shutting down or starting), not a refusal."""
    import psycopg

    state = getattr(exc, "sqlstate", None)
    if state is None:  # the client's own failure: no answer, or nothing to answer with
        return isinstance(exc, psycopg.OperationalError) and "password" not in str(exc)
    return state.startswith("08") or state in ("57P01", "57P02", "57P03")


def _host(hostname: str | None) -> str:
    return hostname or "the local server"


# the face database's tables on PostgreSQL: the SQLite ones (storage/rows.py) in its types
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS people (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created DOUBLE PRECISION NOT NULL,
    name_key TEXT
);
CREATE INDEX IF NOT EXISTS people_name_key ON people(name_key);
CREATE TABLE IF NOT EXISTS faces (
    id BIGINT PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    source TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    x1 DOUBLE PRECISION NOT NULL, y1 DOUBLE PRECISION NOT NULL,
    x2 DOUBLE PRECISION NOT NULL, y2 DOUBLE PRECISION NOT NULL,
    landmarks TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    quality DOUBLE PRECISION NOT NULL,
    embedding BYTEA NOT NULL,
    model TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
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
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    embedding BYTEA NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS rejections_person ON rejections(person_id);
CREATE TABLE IF NOT EXISTS changes (
    seq BIGSERIAL PRIMARY KEY,
    face_id BIGINT NOT NULL,
    added INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS thumbnails (sha256 TEXT PRIMARY KEY, jpeg BYTEA NOT NULL)
"""
SCHEMA_VERSION = 1
"""The version of ``SCHEMA``, kept in the meta table (``schema``); a newer one is refused."""

WRITE_LOCK = 0x66616365
"""The advisory lock every write holds to its end: writes follow one another, as on
SQLite, so the change log's positions are given in the order writes become visible."""

CHANNEL = "facerec_changes"
"""The notification channel every write transaction notifies as it commits (processes
that hold the faces in memory listen, see ``facerec.storage.follower``)."""

ERASED_TABLES = ("faces", "people", "rejections", "skips", "thumbnails")
"""The tables whose rows hold what erasing a person removes (the change log holds ids)."""


class SqlConnection:
    """A connection to the database at ``address`` answering the calls the store makes of
    sqlite3's: ``?`` placeholders, ``execute`` and ``executemany`` giving a cursor,
    ``in_transaction``. A connection the server dropped (a restart, a network cut) is
    made again at the next statement that does not continue a transaction: the
    statement that met the loss fails (its transaction rolled back by the server), the
    ones after it go on."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._conn = connect(address)
        self._in_block = False  # between this connection's BEGIN and COMMIT or ROLLBACK

    def execute(self, query: str, params: Sequence[object] = ()) -> psycopg.Cursor:
        word = query.lstrip()[:8].upper()
        if word.startswith(("COMMIT", "ROLLBACK")):
            self._in_block = False
        conn = self._live()
        cursor = conn.execute(_placeholders(query), tuple(params)) if params \
            else conn.execute(query)
        if word.startswith("BEGIN"):
            self._in_block = True
        return cursor

    def executemany(self, query: str, rows: Iterable[Sequence[object]]) -> psycopg.Cursor:
        cursor = self._live().cursor()
        cursor.executemany(_placeholders(query), [tuple(row) for row in rows])
        return cursor

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on the connection (a lost one has none: the
        server rolled it back, and the next statement may connect again)."""
        from psycopg.pq import TransactionStatus

        if self._conn.closed or self._conn.broken:
            self._in_block = False
            return False
        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self._conn.close()

    def _live(self) -> psycopg.Connection:
        """The connection, made again first when the last one was lost, unless a block
        of statements was under way on it (they must fail, not go on without it)."""
        if (self._conn.closed or self._conn.broken) and not self._in_block:
            self._conn.close()
            self._conn = connect(self.address)
        return self._conn


def _placeholders(query: str) -> str:
    return query.replace("%", "%%").replace("?", "%s")


class PostgresFaceStore(FaceStore):
    """People and faces in the PostgreSQL database ``address`` names: the same store as
    ``FaceStore``, its SQL unchanged, with what differs between the two databases here
    (connecting, the tables' types, transactions, which notify ``CHANNEL`` as they
    commit, the change log's position, vacuum).

    Raises:
        DatabaseError: as ``connect``; no face database there and ``create`` is False;
            tables of a newer facerec.
    """

    SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    def __init__(self, address: str, create: bool = True) -> None:
        self.address = address
        self.path = Path(urlsplit(address).path)  # only messages the store shares name it
        self.conn = cast(sqlite3.Connection, SqlConnection(address))
        self.writable = True
        self.logged = True
        try:
            self._make_tables(create)
        except BaseException:
            self.conn.close()
            raise

    def reopened(self) -> PostgresFaceStore:
        return PostgresFaceStore(self.address, create=False)

    def _make_tables(self, create: bool) -> None:
        with self._errors():
            have = {row[0] for row in self.conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()").fetchall()}
        if not {"meta", "people", "faces"} <= have:
            if not create:
                raise DatabaseError(f"no face database at {self._where()} (enroll people "
                                    "first, or check --db)")
            with self.transaction() as conn:
                for statement in SCHEMA.split(";"):
                    conn.execute(statement)
                conn.execute("INSERT INTO meta(key, value) VALUES('schema', ?) "
                             "ON CONFLICT(key) DO NOTHING", (str(SCHEMA_VERSION),))
        found = int(self.get_meta("schema") or 0)
        if found > SCHEMA_VERSION:
            raise DatabaseError(f"the database at {self._where()} was written by a newer "
                                f"facerec (schema version {found}; this one reads up to "
                                f"{SCHEMA_VERSION}); upgrade facerec to open it")

    def _where(self) -> str:
        parts = urlsplit(self.address)
        return f"{_host(parts.hostname)}{parts.path}"

    # what differs from SQLite ----------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            kind = DatabaseUnavailable if unreachable(exc) else DatabaseError
            raise kind(f"the database at {self._where()}: {reason}") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._errors():
            self.conn.execute("BEGIN")
            try:
                self.conn.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
                yield self.conn
                self.conn.execute(f"NOTIFY {CHANNEL}")
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def has_rejections(self) -> bool:
        return True

    @property
    def generation(self) -> int:
        """The change log's last position: writes follow one another (``WRITE_LOCK``),
        so what a reader sees of the log has no position missing below it."""
        rows = self._rows("SELECT GREATEST(COALESCE(MAX(seq), 0), COALESCE((SELECT "
                          "CAST(value AS BIGINT) FROM meta WHERE key = "
                          "'changes_pruned_through'), 0)) FROM changes")
        return int(rows[0][0])

    def check(self) -> list[str]:
        return []  # the server checks its own pages (data checksums, amcheck)

    def forget_rejections(self, name: str, digest: str) -> int:
        """As the SQLite store's; the rejections table is rewritten after a forgetting,
        so the forgotten face's bytes do not stay in its files (see ``truncate_log``)."""
        gone = super().forget_rejections(name, digest)
        if gone:
            with self._errors():
                self.conn.execute("VACUUM FULL rejections")
        return gone

    # the face crops every server shows (a folder keeps them as files, server/thumbnails)
    def thumbnail(self, sha256: str) -> bytes | None:
        """The kept crop of the face from the photo with ``sha256``, if there is one."""
        rows = self._rows("SELECT jpeg FROM thumbnails WHERE sha256 = ?", (sha256,))
        return bytes(rows[0][0]) if rows else None

    def keep_thumbnail(self, sha256: str, jpeg: bytes) -> None:
        """Keep the crop of a face from the photo with ``sha256`` (made as the photo is
        enrolled, before its face is stored)."""
        with self.transaction() as conn:
            conn.execute("INSERT INTO thumbnails(sha256, jpeg) VALUES(?, ?) ON CONFLICT"
                         "(sha256) DO UPDATE SET jpeg = excluded.jpeg", (sha256, jpeg))

    def forget_thumbnails(self, digests: Iterable[str]) -> int:
        """Delete the crops of photos with ``digests`` that no face holds any more;
        returns how many were deleted."""
        with self.transaction() as conn:
            return sum(conn.execute(
                "DELETE FROM thumbnails WHERE sha256 = ? AND NOT EXISTS "
                "(SELECT 1 FROM faces WHERE sha256 = ?)", (digest, digest)).rowcount
                for digest in set(digests))

    def truncate_log(self) -> bool:
        """Rewrite the tables that held erased rows (``VACUUM FULL``): a plain vacuum
        leaves a deleted row's bytes in the table's files until the space is reused, a
        rewrite leaves none. Each table is locked while it is rewritten (seconds at a
        million faces). Out of reach: the server's write-ahead log, which holds them
        until it is recycled, and its archives, replicas and backups."""
        with self._errors():
            for table in ERASED_TABLES:
                self.conn.execute(f"VACUUM FULL {table}")
        return True
