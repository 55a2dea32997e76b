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

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from facerec.errors import DatabaseError

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
        raise DatabaseError(f"cannot open the database at {host}: {reason}") from None


def _host(hostname: str | None) -> str:
    return hostname or "the local server"
