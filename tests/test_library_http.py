"""The library's HTTP routes on a real ``facerec serve``, over loopback."""

from __future__ import annotations

import io
import os
import shutil

import pytest
from PIL import Image

from facerec.cli import main

httpx = pytest.importorskip("httpx", reason="httpx is a test dependency")
from server import running_server  # noqa: E402

KEY = "a-long-enough-test-key-0123456789"


def names(page: dict) -> list[str]:
    return [os.path.basename(photo["path"]) for photo in page["photos"]]


@pytest.mark.slow
def test_library_routes(shared_faces, tmp_path):
    photos, db = tmp_path / "photos", tmp_path / "db"
    shutil.copytree(shared_faces / "probes", photos)
    assert main(["enroll", str(shared_faces / "gallery"), "--db", str(db)]) == 0
    with running_server(db, env={"FACEREC_API_KEY": KEY}) as running:
        url, key = running.url + "/v1", {"X-API-Key": KEY}
        missing = httpx.get(f"{url}/people/obama/photos", headers=key)
        assert missing.status_code == 404 and "scan" in missing.json()["error"]["message"]
        assert main(["scan", str(photos), "--db", str(db)]) == 0
        assert main(["export-xmp", "--db", str(db)]) == 0

        assert httpx.get(f"{url}/people/obama/photos").status_code == 401
        first = httpx.get(f"{url}/people/kit_harington/photos", params={"limit": 1},
                          headers=key).json()
        second = httpx.get(f"{url}/people/kit_harington/photos",
                           params={"limit": 1, "offset": 1}, headers=key).json()
        assert (first["total"], len(first["photos"]), len(second["photos"])) == (2, 1, 1)
        assert sorted(names(first) + names(second)) == ["johnsnow_test1.jpg",
                                                        "kit_with_rose.jpg"]
        both = httpx.get(f"{url}/photos", headers=key, params={
            "people": ["kit_harington", "rose_leslie"], "together": "all"}).json()
        assert names(both) == ["kit_with_rose.jpg"]
        assert {f["person"] for f in both["photos"][0]["faces"]} == {"kit_harington",
                                                                     "rose_leslie"}
        unknown = httpx.get(f"{url}/photos", params={"unknown": "true"}, headers=key).json()
        assert names(unknown) == ["obama_and_biden.jpg"]
        assert httpx.get(f"{url}/photos", headers=key).status_code == 400
        assert httpx.get(f"{url}/people/nobody/photos", headers=key).status_code == 404

        digest = both["photos"][0]["sha256"]
        thumb = httpx.get(f"{url}/photos/{digest}/thumbnail", headers=key)
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320
        assert thumb.headers["cache-control"] == "private, no-store"
        assert httpx.get(f"{url}/photos/{'0' * 64}/thumbnail", headers=key).status_code == 404
        assert httpx.get(f"{url}/photos/..%2F..%2Fetc/thumbnail", headers=key
                         ).status_code == 404
        # other bytes put in place with the same size and time: not the photo asked for
        swapped = photos / "kit_with_rose.jpg"
        stamp, data = swapped.stat(), bytearray(swapped.read_bytes())
        data[len(data) // 2] ^= 0xFF
        swapped.write_bytes(bytes(data))
        os.utime(swapped, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        assert httpx.get(f"{url}/photos/{digest}/thumbnail", headers=key).status_code == 404
        (photos / "kit_with_rose.jpg").write_bytes(b"changed")  # no longer the scanned photo
        assert httpx.get(f"{url}/photos/{digest}/thumbnail", headers=key).status_code == 404

        # removing a person over HTTP: their photos are asked for again at once, the
        # sidecars naming them are written again without them, and while the server
        # runs no file of the library holds the name (its write-ahead log emptied)
        removed = httpx.delete(f"{url}/people/kit_harington", headers=key)
        assert removed.status_code == 200, removed.text
        assert removed.json()["sidecars_naming_them"] == 0
        assert removed.json()["erased"]["sidecars_rewritten"] == 2
        assert not [p.name for p in photos.glob("*.xmp") if b"kit_harington" in p.read_bytes()]
        assert not [p.name for p in db.glob("library*") if b"kit_harington" in p.read_bytes()]
        assert httpx.get(f"{url}/people/kit_harington/photos", headers=key).status_code == 404
        unknown = httpx.get(f"{url}/photos", params={"unknown": "true"}, headers=key).json()
        assert set(names(unknown)) == {"obama_and_biden.jpg", "johnsnow_test1.jpg",
                                       "kit_with_rose.jpg"}
