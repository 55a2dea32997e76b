"""PostgreSQL, the real server (tests/postgres.py): the address users give is checked,
the password comes only from where libpq reads it, and failures say what went wrong
without the password."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from postgres import USER

from facerec.errors import DatabaseError, DatabaseUnavailable
from facerec.storage.postgres import checked_address, connect, is_postgres


def test_addresses_are_told_from_folders():
    assert is_postgres("postgresql://me@db.example/faces")
    assert is_postgres("postgres://me@db.example/faces")
    assert not is_postgres("facerec-db") and not is_postgres(Path("postgresql:/x"))


@pytest.mark.parametrize("address", [
    "postgresql://me:s3cret-word@db.example/faces",
    "postgresql://me@db.example/faces?password=s3cret-word",
])
def test_a_password_in_the_address_is_refused_unrepeated(address):
    with pytest.raises(DatabaseError, match=r"PGPASSWORD") as refused:
        checked_address(address)
    assert "s3cret-word" not in str(refused.value)


def test_an_address_without_a_database_is_refused():
    with pytest.raises(DatabaseError, match="names no database"):
        checked_address("postgresql://me@db.example/")


def test_the_password_comes_from_the_environment(postgres, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    with connect(postgres.url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (USER,)


def test_the_password_comes_from_a_pgpass_file(postgres, monkeypatch, tmp_path):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{postgres.port}:facerec:{USER}:{postgres.password}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with connect(postgres.url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_no_password_is_a_refusal_not_an_outage(postgres, monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    with pytest.raises(DatabaseError, match="no password supplied") as refused:
        connect(postgres.url)
    assert not isinstance(refused.value, DatabaseUnavailable)


def test_a_wrong_password_says_so_without_it(postgres, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "not-the-password")
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    with pytest.raises(DatabaseError, match="cannot open the database at 127.0.0.1: .*"
                                            "password authentication failed") as refused:
        connect(postgres.url)
    assert "not-the-password" not in str(refused.value)


def test_a_server_that_is_not_there_is_named(postgres, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    postgres.stop()
    try:
        with pytest.raises(DatabaseError, match="cannot open the database at 127.0.0.1"):
            connect(postgres.url)
    finally:
        postgres.start()
    with connect(postgres.url) as conn:  # and it is reached again once it is back
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_tls_when_the_address_asks_for_it(monkeypatch, tmp_path):
    """sslmode in the address: require (encrypted), verify-full (the server's certificate
    checked against a trusted one); a server whose certificate is not trusted is
    refused."""
    from postgres import running_postgres

    with running_postgres(tls=True) as server:
        monkeypatch.setenv("PGPASSWORD", server.password)
        with connect(server.url + "?sslmode=require") as conn:
            assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = "
                                "pg_backend_pid()").fetchone() == (True,)
        trusted = f"{server.url}?sslmode=verify-full&sslrootcert={server.tls_certificate}"
        with connect(trusted) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        stranger = tmp_path / "other.crt"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=127.0.0.1", "-keyout", str(tmp_path / "k"),
                        "-out", str(stranger)], check=True, capture_output=True)
        with pytest.raises(DatabaseError, match="certificate"):
            connect(f"{server.url}?sslmode=verify-full&sslrootcert={stranger}")
