"""Running the real ``facerec`` command: in this process (``run_cli``, what most tests
need: the same ``main`` the console script calls, without a new interpreter importing
torch each time), or in a subprocess (``run_cli_process``, for tests that kill it, send
it signals or need a process of its own)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from facerec.cli import main

SCRIPT = Path(sys.executable).parent / "facerec"


def run_cli(*args: object, env: dict[str, str] | None = None, timeout: float = 300,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``facerec ARGS`` in this process, in ``cwd`` with ``env`` added to the
    environment, and answer as ``run_cli_process`` would: exit code, stdout and stderr
    (decoded as UTF-8). ``timeout`` is for the subprocess runner's callers' sake."""
    argv = [str(a) for a in args]
    stdout, stderr = _utf8_stream(), _utf8_stream()
    with _environment(env or {}), _directory(cwd), \
            contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        finally:
            stdout.flush()
            stderr.flush()
    return subprocess.CompletedProcess(["facerec", *argv], code, _text(stdout), _text(stderr))


def run_cli_process(*args: object, env: dict[str, str] | None = None, timeout: float = 300,
                    cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``facerec ARGS`` (the installed console script) in ``cwd``; never raises on
    exit codes."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "facerec"]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout, check=False, cwd=cwd)


def assert_no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stderr, done.stderr


def _utf8_stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")


def _text(stream: io.TextIOWrapper) -> str:
    return stream.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


@contextlib.contextmanager
def _environment(added: dict[str, str]) -> Iterator[None]:
    before = {key: os.environ.get(key) for key in added}
    os.environ.update(added)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _directory(cwd: Path | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    before = Path.cwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)
