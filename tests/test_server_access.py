"""Another website must not read or change the database of a server on loopback that has
no API key (the default): host names it was not told (DNS rebinding), changes sent from
another site's page (CSRF), and requests with ambiguous framing (smuggling)."""

from __future__ import annotations

import socket

import pytest
from test_server import assert_error, enroll

httpx = pytest.importorskip("httpx", reason="httpx is a test dependency")
from server import running_server  # noqa: E402

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"


@pytest.fixture(scope="module")
def server(tmp_path_factory, samples, model_paths):
    """A key-less server on 127.0.0.1 (the README's setup), told one more name, with
    obama enrolled."""
    db = tmp_path_factory.mktemp("access") / "db"
    with running_server(db, "--allowed-host", "facerec.lan") as running:
        photo = ("obama.jpg", (samples / "obama.jpg").read_bytes())
        assert enroll(running.url, "obama", photo).status_code == 201
        yield running


def port_of(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def people(server) -> dict[str, int]:
    listed = httpx.get(server.url + "/v1/people").json()["people"]
    return {p["name"]: p["faces"] for p in listed}


@pytest.mark.parametrize("path", ["/v1/people", "/v1/people/obama", "/v1/faces/1/thumbnail",
                                  "/v1/health", "/", "/static/app.js", "/openapi.json"])
@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example",
                                  "localhost.:{port}", "localhost:1", "10.0.0.7:{port}"])
def test_unknown_host_names_are_refused_before_routing(server, path, host):
    answer = httpx.get(server.url + path, headers={"Host": host.format(port=port_of(server))})
    message = assert_error(answer, 421)
    assert "obama" not in answer.text and "--allowed-host" in message


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}",
                                  "[::1]:{port}", "localhost", "facerec.lan",
                                  "facerec.lan:8443"])
def test_own_host_names_are_answered(server, host):
    answer = httpx.get(server.url + "/v1/people",
                       headers={"Host": host.format(port=port_of(server))})
    assert answer.status_code == 200, answer.text
    assert answer.json()["people"][0]["name"] == "obama"


def test_a_request_without_a_host_is_refused(server):
    answer = raw_exchange(server, b"GET /v1/people HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400") and b"obama" not in answer


FOREIGN = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://localhost:{port}"},         # another origin than the Host's
    {"Origin": "http://127.0.0.1:1"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},                # another port on the same machine
    {"Referer": "http://evil.example/page.html"},
    {"User-Agent": BROWSER},                        # a browser form that says nothing
]


@pytest.mark.parametrize("headers", FOREIGN, ids=lambda h: "+".join(f"{k}={v}" for k, v in
                                                                   h.items()))
def test_changes_from_another_site_are_refused(server, samples, headers):
    headers = {k: v.format(port=port_of(server)) for k, v in headers.items()}
    before = people(server)
    photo = (samples / "biden.jpg").read_bytes()
    attempts = [
        httpx.post(server.url + "/v1/people/obama/faces", headers=headers, timeout=60,
                   files={"images": ("attacker.jpg", photo, "image/jpeg")}),
        httpx.post(server.url + "/v1/identify", headers=headers, timeout=60,
                   files={"image": ("probe.jpg", photo, "image/jpeg")}),
        httpx.post(server.url + "/v1/clusters", headers=headers, timeout=60),
        httpx.patch(server.url + "/v1/people/obama", headers=headers, json={"name": "x"}),
        httpx.delete(server.url + "/v1/people/obama", headers=headers),
        httpx.delete(server.url + "/v1/faces/1", headers=headers),
    ]
    for answer in attempts:
        message = assert_error(answer, 403)
        assert "another site" in message or "Origin" in message
    assert people(server) == before == {"obama": 1}


def test_changes_from_the_servers_own_page_and_from_programs_work(server, samples):
    own = {"Origin": server.url, "Sec-Fetch-Site": "same-origin", "User-Agent": BROWSER}
    photo = ("biden.jpg", (samples / "biden.jpg").read_bytes(), "image/jpeg")
    page = httpx.post(server.url + "/v1/people/biden/faces", headers=own,
                      files={"images": photo}, timeout=60)
    assert page.status_code == 201, page.text
    # curl and scripts send no Origin and are not browsers
    renamed = httpx.patch(server.url + "/v1/people/biden", json={"name": "joe"})
    assert renamed.status_code == 200, renamed.text
    assert httpx.delete(server.url + "/v1/people/joe",
                        headers={"User-Agent": "curl/8.5.0"}).status_code == 200
    assert people(server) == {"obama": 1}


def test_both_content_length_and_chunked_are_refused_and_the_connection_closed(server):
    hidden = b"GET /v1/people HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    chunked_body = b"0\r\n\r\n" + hidden
    request = (b"POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
               % (port_of(server), len(chunked_body))) + chunked_body
    answer = raw_exchange(server, request)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1, "the hidden request was answered"
    assert b"obama" not in answer


def test_two_different_lengths_are_refused(server):
    request = (b"POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 5\r\n"
               b"Content-Length: 50\r\n\r\nhello" % port_of(server))
    answer = raw_exchange(server, request)
    assert answer.startswith(b"HTTP/1.1 400") and answer.count(b"HTTP/1.1 ") == 1


def raw_exchange(server, request: bytes, timeout: float = 10.0) -> bytes:
    """Send ``request`` on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pytest.fail(f"the server kept the connection open after: {received[:300]!r}")
    return received
