"""Two ``facerec serve`` processes on one PostgreSQL database, each with its own index,
alone and behind nginx: what is enrolled or removed through one is answered by the other
at its next request."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
import time

import httpx
import pytest
from cli import SCRIPT, run_cli
from nginx import running_nginx
from server import free_port, running_server
from test_cli_db import lfw_folder
from test_server import enroll, identify

from facerec import Gallery

pytestmark = pytest.mark.slow
_databases = itertools.count()


@pytest.fixture
def address(postgres, monkeypatch) -> str:
    monkeypatch.setenv("PGPASSWORD", postgres.password)  # the servers inherit it
    return postgres.database_url(f"served_{next(_databases)}")


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [face["person"] for face in response.json()["faces"]]


def test_two_servers_share_one_database(address, samples, model_paths, tmp_path):
    with running_server(address, logs=tmp_path) as front_desk, \
            running_server(address, logs=tmp_path) as back_office:
        added = enroll(front_desk.url, "obama",
                       ("obama.jpg", (samples / "obama.jpg").read_bytes()))
        assert added.status_code == 201, added.text
        probe = (samples / "obama2.jpg").read_bytes()
        assert names(identify(back_office.url, probe)) == ["obama"]
        [face] = httpx.get(back_office.url + "/v1/people/obama").json()["faces"]
        crop = httpx.get(f"{back_office.url}/v1/faces/{face['id']}/thumbnail")
        assert crop.status_code == 200 and crop.content.startswith(b"\xff\xd8")
        removed = httpx.delete(front_desk.url + "/v1/people/obama")
        assert removed.status_code == 200 and removed.json()["erased"]["thumbnails"] == 1
        assert names(identify(back_office.url, probe)) != ["obama"]
        assert httpx.get(back_office.url + "/v1/people").json() == {"people": []}
        assert httpx.get(f"{back_office.url}/v1/faces/{face['id']}/thumbnail"
                         ).status_code == 404
        library = httpx.get(back_office.url + "/v1/photos", params={"unknown": "true"})
        assert library.status_code == 404, library.text  # a library lives in a folder


def test_behind_nginx_every_request_finds_the_same_people(address, samples, model_paths,
                                                          tmp_path):
    port = free_port()  # the servers are told the name they are called by: nginx's
    public = ("--allowed-host", f"127.0.0.1:{port}")
    with running_server(address, *public, logs=tmp_path) as first, \
            running_server(address, *public, logs=tmp_path) as second, \
            running_nginx([first.url, second.url], port) as front:
        added = enroll(front, "obama", ("obama.jpg", (samples / "obama.jpg").read_bytes()))
        assert added.status_code == 201, added.text
        probe = (samples / "obama2.jpg").read_bytes()
        assert [names(identify(front, probe)) for _ in range(6)] == [["obama"]] * 6
        served = [httpx.get(url + "/v1/health").json()["images"] for url in
                  (first.url, second.url)]
        assert all(count >= 3 for count in served), served  # both answered


def test_while_the_database_restarts_requests_get_503_then_answers(address, postgres,
                                                                   samples, model_paths,
                                                                   tmp_path):
    with running_server(address, logs=tmp_path) as server:
        added = enroll(server.url, "obama", ("obama.jpg", (samples / "obama.jpg").read_bytes()))
        assert added.status_code == 201, added.text
        probe = (samples / "obama2.jpg").read_bytes()
        assert names(identify(server.url, probe)) == ["obama"]
        postgres.stop()
        try:
            down = identify(server.url, probe)
            assert down.status_code == 503, down.text
            assert "cannot be reached" in down.text or "connection" in down.text
        finally:
            postgres.start()
        assert names(identify(server.url, probe)) == ["obama"]  # connected again


def test_one_photo_sent_to_two_servers_at_once_has_one_owner(address, samples, model_paths,
                                                             tmp_path):
    photo = (samples / "obama.jpg").read_bytes()
    with running_server(address, logs=tmp_path) as first, \
            running_server(address, logs=tmp_path) as second:
        for round_ in range(3):
            answers: dict[str, httpx.Response] = {}
            start = threading.Barrier(2)

            def send(url: str, name: str) -> None:
                start.wait()
                answers[name] = enroll(url, name, ("photo.jpg", photo))

            threads = [threading.Thread(target=send, args=(first.url, f"ann{round_}")),
                       threading.Thread(target=send, args=(second.url, f"bea{round_}"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            owners = [name for name, answer in answers.items()
                      if answer.status_code == 201 and answer.json()["added"] == 1]
            assert len(owners) == 1, {n: a.text for n, a in answers.items()}
            people = httpx.get(first.url + "/v1/people").json()["people"]
            assert [p["name"] for p in people] == owners
            assert httpx.delete(f"{first.url}/v1/people/{owners[0]}").status_code == 200


def test_an_enrollment_killed_midway_leaves_nothing_half_written(address, postgres,
                                                                  shared_faces, tmp_path):
    known = tmp_path / "known"
    total = lfw_folder(shared_faces, known, people=12)
    command = [str(SCRIPT), "enroll", str(known), "--db", address]
    environment = {**os.environ, **postgres.environment()}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=environment)
    deadline = time.monotonic() + 300
    with Gallery(address) as gallery:
        while gallery.count() == 0 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        faces, indexed = gallery.check()
        assert 0 < faces < total and indexed == faces
        assert all(count > 0 for _, count in gallery.people())
    done = run_cli("enroll", known, "--db", address, env=postgres.environment())
    assert done.returncode == 0, done.stderr
    with Gallery(address) as gallery:
        assert gallery.check() == (total, total)
