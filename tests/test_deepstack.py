"""DeepStack's face API on a real ``facerec serve``, spoken to by the real client
(``deepstack-python``, the library Home Assistant's DeepStack face integration uses)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from PIL import Image

from facerec.server.deepstack import MATCH_CONFIDENCE, confidence

httpx = pytest.importorskip("httpx", reason="httpx is a test dependency")
deepstack = pytest.importorskip("deepstack.core", reason="deepstack-python is a test "
                                                          "dependency")
from server import running_server  # noqa: E402

KEY = "a-long-enough-test-key-0123456789"
FACE = "/v1/vision/face"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    db = tmp_path_factory.mktemp("deepstack") / "db"
    with running_server(db, "--max-upload-mb", "2", env={"FACEREC_API_KEY": KEY}) as server:
        yield server


@pytest.fixture(scope="module")
def client(served):
    port = int(served.url.rsplit(":", 1)[1])
    return deepstack.DeepstackFace(ip="127.0.0.1", port=port, api_key=KEY, timeout=120)


@pytest.fixture(scope="module")
def registered(client, shared_faces):
    """Everyone of the shared gallery registered through the client, one photo a call
    (as the client sends them); the names as DeepStack users would write them."""
    for folder in sorted((shared_faces / "gallery").iterdir()):
        for photo in sorted(folder.iterdir()):
            assert client.register(folder.name, photo.read_bytes()) == "face added"
    return sorted(p.name for p in (shared_faces / "gallery").iterdir())


def post(served, path: str, files=None, **data) -> httpx.Response:
    return httpx.post(served.url + FACE + path, data={"api_key": KEY, **data}, files=files,
                      timeout=120)


def cropped(photo: Path) -> bytes:
    """Other bytes of the same face: the photo less a border."""
    image = Image.open(photo).convert("RGB")
    buffer = io.BytesIO()
    image.crop((4, 4, image.width - 4, image.height - 4)).save(buffer, "JPEG")
    return buffer.getvalue()


def assert_deepstack_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["code"] == status, body
    assert "Traceback" not in response.text
    return body["error"]


@pytest.mark.slow
def test_the_client_registers_lists_and_recognises(client, registered, shared_faces):
    assert sorted(client.get_registered_faces()) == registered
    with (shared_faces / "probes.csv").open() as table:
        cases = list(csv.DictReader(table))
    for case in cases:
        photo = shared_faces / case["image"]
        expected = case["expected_identities"].split(";")
        predictions = client.recognize(photo.read_bytes())
        named = sorted(p["userid"] for p in predictions if p["userid"] != "unknown")
        assert named == sorted(e for e in expected if e != "unknown"), (photo, predictions)
        if "unknown" in expected:
            assert any(p["userid"] == "unknown" and p["confidence"] == 0.0
                       for p in predictions)
        width, height = Image.open(photo).size
        for p in predictions:
            assert isinstance(p["x_min"], int) and 0 <= p["x_min"] < p["x_max"] <= width
            assert isinstance(p["y_min"], int) and 0 <= p["y_min"] < p["y_max"] <= height
            if p["userid"] != "unknown":
                assert MATCH_CONFIDENCE <= p["confidence"] <= 1.0


def test_the_client_detects_faces(client, shared_faces):
    faces = client.detect((shared_faces / "probes" / "obama_and_biden.jpg").read_bytes())
    assert len(faces) >= 3
    assert all(0.0 < f["confidence"] <= 1.0 and f["x_min"] < f["x_max"] for f in faces)


def test_min_confidence_only_makes_recognition_stricter(served, registered, shared_faces):
    photo = (shared_faces / "probes" / "obama1.jpg").read_bytes()
    image = {"image": ("obama1.jpg", photo, "image/jpeg")}
    loose = post(served, "/recognize", files=image, min_confidence="0.05").json()
    usual = post(served, "/recognize", files=image).json()
    assert [p["userid"] for p in loose["predictions"]] == ["obama"]
    assert loose["predictions"] == usual["predictions"]
    strict = post(served, "/recognize", files=image, min_confidence="1.0").json()
    assert [p["userid"] for p in strict["predictions"]] == ["unknown"]


def test_several_photos_in_one_register_and_delete(served, registered, shared_faces):
    photos = sorted((shared_faces / "gallery" / "rose_leslie").glob("*.jpg"))
    files = [(f"image{i}", (p.name, cropped(p), "image/jpeg")) for i, p in enumerate(photos, 1)]
    answer = post(served, "/register", files=files, userid="Rose Leslie")
    assert answer.status_code == 200 and answer.json()["success"] is True, answer.text
    people = httpx.get(served.url + "/v1/people/Rose Leslie", headers={"X-API-Key": KEY})
    assert len(people.json()["faces"]) == len(photos)
    gone = post(served, "/delete", userid="Rose Leslie")
    assert gone.json() == {"success": True, "message": "face deleted",
                           "duration": gone.json()["duration"]}
    assert "Rose Leslie" not in post(served, "/list").json()["faces"]
    assert httpx.get(served.url + "/v1/people/Rose Leslie",
                     headers={"X-API-Key": KEY}).status_code == 404
    again = post(served, "/delete", userid="Rose Leslie")
    assert again.json()["success"] is True and "not registered" in again.json()["message"]


def test_a_deleted_user_is_no_longer_recognised(served, client, registered, shared_faces):
    photo = (shared_faces / "probes" / "obama_and_biden.jpg").read_bytes()
    assert "biden" in {p["userid"] for p in client.recognize(photo)}
    assert post(served, "/delete", userid="biden").json()["success"] is True
    assert "biden" not in client.get_registered_faces()
    assert {p["userid"] for p in client.recognize(photo)} == {"obama", "unknown"}
    for photo in sorted((shared_faces / "gallery" / "biden").glob("*.jpg")):
        client.register("biden", photo.read_bytes())


def test_bad_requests_get_deepstack_errors(served, registered, shared_faces, tmp_path):
    wrong = httpx.post(served.url + FACE + "/list", data={"api_key": KEY[:-1] + "!"})
    assert assert_deepstack_error(wrong, 401) == "Incorrect api key"
    assert_deepstack_error(httpx.post(served.url + FACE + "/list"), 401)
    header = httpx.post(served.url + FACE + "/list", headers={"X-API-Key": KEY})
    assert header.status_code == 200 and header.json()["success"] is True
    photo = ("p.jpg", (shared_faces / "probes" / "obama1.jpg").read_bytes(), "image/jpeg")
    assert "image" in assert_deepstack_error(post(served, "/recognize"), 400)
    assert "image" in assert_deepstack_error(
        post(served, "/recognize", files={"photo": photo}), 400)
    notes = {"image": ("notes.jpg", b"not a photo at all", "image/jpeg")}
    assert "notes.jpg" in assert_deepstack_error(post(served, "/recognize", files=notes), 400)
    assert assert_deepstack_error(post(served, "/register", files={"image": photo}),
                                  400) == "userid not specified"
    for bad in ("abc", "1.5", "-0.1", "nan"):
        assert "min_confidence" in assert_deepstack_error(
            post(served, "/recognize", files={"image": photo}, min_confidence=bad), 400)
    blank = Image.new("RGB", (320, 240), (200, 200, 200))
    blank.save(tmp_path / "wall.jpg")
    no_face = {"image": ("wall.jpg", (tmp_path / "wall.jpg").read_bytes(), "image/jpeg")}
    message = assert_deepstack_error(post(served, "/register", files=no_face,
                                          userid="wall"), 400)
    assert "wall.jpg" in message and "wall" not in post(served, "/list").json()["faces"]
    for userid in ("a/b", "unknown", " "):
        assert_deepstack_error(post(served, "/register", files={"image": photo},
                                    userid=userid), 400)
    huge = {"image": ("big.jpg", b"\xff" * (3 * 1024 * 1024), "image/jpeg")}
    assert_deepstack_error(post(served, "/recognize", files=huge), 413)


def test_other_sites_and_host_names_are_refused(served, registered, shared_faces):
    photo = {"image": ("p.jpg", (shared_faces / "probes" / "obama1.jpg").read_bytes(),
                       "image/jpeg")}
    foreign = httpx.post(served.url + FACE + "/recognize", data={"api_key": KEY},
                         files=photo, headers={"Origin": "https://evil.example"})
    assert_deepstack_error(foreign, 403)
    form = httpx.post(served.url + FACE + "/delete", data={"api_key": KEY, "userid": "obama"},
                      headers={"Sec-Fetch-Site": "cross-site",
                               "User-Agent": "Mozilla/5.0"})
    assert_deepstack_error(form, 403)
    rebound = httpx.post(served.url + FACE + "/list", data={"api_key": KEY},
                         headers={"Host": "attacker.example"})
    assert_deepstack_error(rebound, 421)
    assert "obama" in post(served, "/list").json()["faces"]


def test_confidence_scale():
    threshold = 0.36
    assert confidence(threshold, threshold) == MATCH_CONFIDENCE
    assert confidence(1.0, threshold) == 1.0 and confidence(-1.0, threshold) == 0.0
    values = [confidence(s / 50 - 1, threshold) for s in range(101)]
    assert values == sorted(values)
    assert confidence(threshold - 1e-3, threshold) < MATCH_CONFIDENCE


def test_the_api_can_be_left_off(tmp_path):
    with running_server(tmp_path / "db", "--no-deepstack-api") as server:
        assert httpx.post(server.url + FACE + "/list").status_code == 404
        assert httpx.get(server.url + "/v1/people").status_code == 200

