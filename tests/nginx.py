"""A real nginx for the tests: Debian's, on a free loopback port, in front of several
``facerec serve`` processes (round robin), as a deployment puts a load balancer."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from broker import free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                  else None)


@contextmanager
def running_nginx(upstreams: Sequence[str], port: int | None = None) -> Iterator[str]:
    """nginx on 127.0.0.1:``port`` (a free one when None) passing every request to
    ``upstreams`` (``http://host:port``) in turn, the Host header as the client sent it
    (so the servers must be told nginx's name, as in a deployment); yields its URL."""
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian's nginx-light, installed by "
                    "scripts/setup.sh --test where apt can)")
    folder = Path(tempfile.mkdtemp(prefix="facerec-nginx-"))  # its workers' user reads it
    port = port or free_port()
    servers = "".join(f"server {url.removeprefix('http://')};" for url in upstreams)
    temp = " ".join(f"{kind}_temp_path {folder}/{kind};"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (folder / "nginx.conf").write_text(
        f"worker_processes 1; pid {folder}/nginx.pid; error_log {folder}/error.log;\n"
        "events { worker_connections 256; }\n"
        f"http {{ access_log off; {temp} client_max_body_size 64m;\n"
        f"  upstream facerec {{ {servers} }}\n"
        f"  server {{ listen 127.0.0.1:{port};\n"
        "    location / { proxy_pass http://facerec; proxy_set_header Host $http_host; "
        "proxy_read_timeout 300s; } } }\n")
    if os.geteuid() == 0:  # the workers run as nobody
        nobody = pwd.getpwnam("nobody")
        for path in (folder, *folder.iterdir()):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"),
                                "-g", "daemon off;"], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_ready(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"nginx exited: {said}")
        try:
            httpx.get(url + "/v1/health", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("nginx did not answer")
