"""The HTTP service against hostile clients: images that decode to far more than they
weigh, slow clients, weak API keys and keys put in URLs. A real server on loopback."""

from __future__ import annotations

import io
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from cli import assert_no_traceback, run_cli_process
from PIL import Image
from server import running_server

pytestmark = pytest.mark.slow  # real services, browsers or kill loops: the full run

KEY = "a-long-enough-test-key-0123456789"


def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
    return fields


def bomb_png() -> bytes:
    """A few kilobytes of PNG that decode to 39 megapixels."""
    buffer = io.BytesIO()
    Image.new("L", (7200, 5400), 180).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX") or not __import__("os").path.exists(
    "/proc/self/status"), reason="reads the server's memory from /proc")
def test_decoded_pixels_are_bounded_and_memory_comes_back(tmp_path, model_paths):
    data = bomb_png()
    assert len(data) < 100_000
    with running_server(tmp_path / "db", "--max-pixels-in-flight", "80") as server:
        pid = server.process.pid
        httpx.post(server.url + "/v1/identify", files={"image": ("b.png", data)}, timeout=120)
        before = memory_kb(pid)["VmRSS"]

        def identify(_: int) -> int:
            return httpx.post(server.url + "/v1/identify", files={"image": ("b.png", data)},
                              timeout=300).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(identify, range(16)))
        assert set(statuses) <= {200, 503} and 200 in statuses, statuses
        time.sleep(0.5)
        after = memory_kb(pid)
    grown_mb = (after["VmHWM"] - before) / 1024
    kept_mb = (after["VmRSS"] - before) / 1024
    # unbounded, 16 images of 39 MP (117 MB each in RGB) grew it by gigabytes
    assert grown_mb < 900, f"peak grew by {grown_mb:.0f} MB"
    assert kept_mb < 250, f"{kept_mb:.0f} MB stayed after the burst"


def test_slow_clients_are_cut_off_and_connections_limited(tmp_path, model_paths):
    with running_server(tmp_path / "db", "--header-timeout", "2", "--body-timeout", "2",
                        "--max-connections", "20") as server:
        port = int(server.url.rsplit(":", 1)[1])
        slow = []
        for _ in range(40):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /v1/hea")
            slow.append(sock)
        started = time.monotonic()
        closed = 0
        for sock in slow:
            try:
                sock.settimeout(max(0.1, 8 - (time.monotonic() - started)))
                closed += sock.recv(1024) == b""
            except (TimeoutError, ConnectionResetError):
                closed += 1
            finally:
                sock.close()
        assert closed == 40 and time.monotonic() - started < 8
        assert httpx.get(server.url + "/v1/health", timeout=10).status_code == 200
        body = socket.create_connection(("127.0.0.1", port), timeout=10)
        body.sendall(b"POST /v1/identify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"multipart/form-data; boundary=b\r\nContent-Length: 5000\r\n\r\n--b")
        body.settimeout(10)
        answer = body.recv(4096)
        body.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert_no_traceback_text(server.output())


def assert_no_traceback_text(text: str) -> None:
    assert "Traceback" not in text, text


@pytest.mark.parametrize("weak", [" " * 16, "a" * 32, "abcdefghijklmnopqrstuvwxyz",
                                  "short-key", "ab" * 12])
def test_weak_api_keys_are_refused(tmp_path, weak):
    done = run_cli_process("serve", "--db", tmp_path / "db", "--host", "0.0.0.0",
                           env={"FACEREC_API_KEY": weak})
    assert done.returncode == 2 and "API key" in done.stderr, done.stderr
    assert weak.strip() == "" or weak not in done.stderr
    assert_no_traceback(done)


def test_a_key_in_the_url_is_refused_and_not_logged(tmp_path, model_paths):
    with running_server(tmp_path / "db", env={"FACEREC_API_KEY": KEY}) as server:
        leaked = httpx.get(server.url + f"/v1/people?api_key={KEY}", timeout=30)
        assert leaked.status_code == 400 and "X-API-Key header" in leaked.json()["error"][
            "message"]
        fine = httpx.get(server.url + "/v1/people", headers={"X-API-Key": KEY}, timeout=30)
        assert fine.status_code == 200
        time.sleep(0.2)
        log = server.output()
    assert KEY not in log and "GET /v1/people" in log
