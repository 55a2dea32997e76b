"""Enrollment's ownership rule holds under concurrency: the store decides who owns a photo
inside its write transaction, so uploads of the same bytes for two names that pass the
early check together still end with one owner, and the other told 409 naming them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from test_server import enroll

httpx = pytest.importorskip("httpx", reason="httpx is a test dependency")
from server import running_server  # noqa: E402

pytestmark = pytest.mark.slow  # real services, browsers or kill loops: the full run

ROUNDS = 3
PER_NAME = 6


def test_concurrent_uploads_of_one_photo_for_two_names_have_one_owner(tmp_path, samples,
                                                                       model_paths):
    photo = (samples / "obama.jpg").read_bytes()
    with running_server(tmp_path / "db", "--max-batch", "16", "--max-wait-ms", "50") as server:
        for round_ in range(ROUNDS):
            names = [f"ann{round_}", f"bob{round_}"]
            data = photo + bytes([round_])           # new bytes each round, same picture
            with ThreadPoolExecutor(2 * PER_NAME) as pool:
                answers = list(pool.map(
                    lambda name: (name, enroll(server.url, name, ("same.jpg", data))),
                    [name for _ in range(PER_NAME) for name in names]))
            people = {p["name"]: p["faces"] for p in
                      httpx.get(server.url + "/v1/people").json()["people"]
                      if p["name"] in names}
            assert len(people) == 1 and list(people.values()) == [1], (people, answers)
            (owner,) = people
            for name, answer in answers:
                if name == owner:
                    assert answer.status_code in (200, 201), answer.text
                else:
                    assert answer.status_code == 409, (name, answer.text)
                    assert answer.json()["skipped"][0]["owner"] == owner
            assert sum(a.status_code == 201 for n, a in answers if n == owner) == 1
