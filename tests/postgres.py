"""A real PostgreSQL for the tests: Debian's server in a temporary data folder, on a free
loopback port, run as an unprivileged user (initdb refuses root), with password
authentication, stopped and restarted at will."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from broker import free_port

USER = "facerec"
"""The database role the tests connect as (the cluster's superuser)."""


def server_programs() -> Path | None:
    """The folder of initdb and pg_ctl: on the PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def need_postgres() -> Path:
    programs = server_programs()
    if programs is None:
        pytest.skip("the PostgreSQL server is not installed (Debian's postgresql package, "
                    "installed by scripts/setup.sh --test where apt can)")
    pytest.importorskip("psycopg", reason="psycopg is the [postgres] extra")
    return programs


class Postgres:
    """A PostgreSQL cluster in ``folder`` listening on 127.0.0.1:``port`` only, for role
    ``USER`` with ``password``; ``url`` names database ``facerec`` (no password in it)."""

    def __init__(self, folder: Path, programs: Path) -> None:
        self.folder, self.programs, self.port = folder, programs, free_port()
        self.password = secrets.token_urlsafe(16)
        self.data, self.sockets = folder / "data", folder / "sockets"
        self.url = f"postgresql://{USER}@127.0.0.1:{self.port}/facerec"
        self._as = _unprivileged()
        self._tls: tuple[Path, Path] | None = None
        self.tls_certificate: Path | None = None
        for path in (self.folder, self.sockets):
            path.mkdir(parents=True, exist_ok=True)
        password_file = folder / "password"
        password_file.write_text(self.password + "\n")
        self._own(folder)
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=scram-sha-256",
                  f"--pwfile={password_file}", "-E", "UTF8", "--locale=C.UTF-8")
        password_file.unlink()

    def use_tls(self) -> Path:
        """Serve TLS with a new self-signed certificate for 127.0.0.1 (from the next
        start); returns the certificate, for clients to verify the server with."""
        if shutil.which("openssl") is None:
            pytest.skip("openssl, which makes the test certificate, is not installed")
        cert, key = self.folder / "server.crt", self.data / "server.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True,
                       capture_output=True, timeout=60)
        key.chmod(0o600)
        self._own(self.folder)
        self._tls = (cert, key)
        return cert

    def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   f"-c unix_socket_directories={self.sockets} -c fsync=off")
        if self._tls is not None:
            cert, key = self._tls
            options += f" -c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
                  "-o", options, "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def database_url(self, name: str) -> str:
        """The address of a new, empty database called ``name``."""
        self.create_database(name)
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str = "facerec") -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER,
                             password=self.password, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def environment(self) -> dict[str, str]:
        """What a user sets for the password (``PGPASSWORD``), never in the URL."""
        return {"PGPASSWORD": self.password}

    def _own(self, folder: Path) -> None:
        if self._as is not None:
            for path in [folder, *folder.rglob("*")]:
                os.chown(path, self._as.pw_uid, self._as.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.programs / program), *args]
        if self._as is not None:
            command = ["runuser", "-u", self._as.pw_name, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)


def _unprivileged() -> pwd.struct_passwd | None:
    """The user the server runs as when the tests run as root (initdb refuses root)."""
    return pwd.getpwnam("nobody") if os.geteuid() == 0 else None


@contextmanager
def running_postgres(tls: bool = False) -> Iterator[Postgres]:
    """A started server in a folder of its own (its user must read it: not under the
    tests' temporary folders, which only root enters), removed afterwards; with ``tls``,
    serving TLS with a self-signed certificate (``server.tls_certificate``)."""
    programs = need_postgres()
    folder = Path(tempfile.mkdtemp(prefix="facerec-postgres-"))
    try:
        server = Postgres(folder, programs)
        server.tls_certificate = server.use_tls() if tls else None
        server.start()
        server.create_database()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
