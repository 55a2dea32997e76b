"""Running the real ``facerec serve`` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cli import SCRIPT

STARTUP_TIMEOUT = 180.0


@dataclass
class RunningServer:
    url: str
    db: Path | str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(db: Path | str, *args: object, env: dict[str, str] | None = None,
                   kill: signal.Signals = signal.SIGTERM, logs: Path | None = None
                   ) -> Iterator[RunningServer]:
    """Start ``facerec serve --db DB ARGS`` and wait until /v1/health answers; stop it with
    ``kill`` on exit. Its output goes to a file in ``logs`` (else beside a folder ``db``)."""
    port = free_port()
    log = (logs or Path(db).parent) / f"server-{port}.log"
    command = [str(SCRIPT), "serve", "--db", str(db), "--port", str(port), "--device", "cpu",
               *map(str, args)]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    server = RunningServer(f"http://127.0.0.1:{port}", db, process, log)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(kill)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(server: RunningServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{server.output()}")
        try:
            if httpx.get(server.url + "/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {STARTUP_TIMEOUT} s:\n"
                       f"{server.output()}")
