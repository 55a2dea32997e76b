"""Phone-size photos sent to the HTTP service: time per ``/v1/identify`` request.

The non-LFW photos of ``../shared/faces`` and the samples, enlarged to a phone camera's
4032 x 3024 and saved as JPEG quality 92 (as ``benchmark_photos.py`` makes them), are
posted one at a time to ``facerec serve`` on a fresh database with the samples enrolled.
With ``--before CHECKOUT`` a second server runs an earlier version's code (put first on
its import path) and the two take turns, photo by photo, so a slower spell of the
machine affects both; the answers' people are compared.

    python scripts/benchmark_uploads.py [--rounds 3] [--before CHECKOUT]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from benchmark_photos import SHARED, phone_photos
from benchmark_serve import start_server

from facerec import FaceDB
from facerec.photos.samples import default_dir


def identify(url: str, photo: bytes) -> tuple[float, list[str]]:
    """Seconds one request took, and the people it named."""
    start = time.perf_counter()
    answer = httpx.post(url + "/v1/identify", files={"image": ("phone.jpg", photo)},
                        timeout=120)
    took = time.perf_counter() - start
    answer.raise_for_status()
    return took, [face["person"] for face in answer.json()["faces"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=SHARED)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="also serve an earlier version's code, the two taking turns")
    args = parser.parse_args()
    if not args.faces.is_dir():
        sys.exit(f"{args.faces} is missing: the photos come from ../shared/faces")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photos = [p.read_bytes() for p in phone_photos(args.faces, folder)]
        db = folder / "db"
        samples = default_dir()
        with FaceDB(db) as faces:
            for person in ("obama", "biden"):
                faces.enroll(name=person, paths=[samples / f"{person}.jpg"])
        servers = {"now": start_server(db)}
        if args.before:
            os.environ["PYTHONPATH"] = str(args.before)
            servers["before"] = start_server(db)
        try:
            times: dict[str, list[float]] = {name: [] for name in servers}
            named: dict[str, list[list[str]]] = {name: [] for name in servers}
            for name, (_, url) in servers.items():
                identify(url, photos[0])  # networks and index warm
            for _ in range(args.rounds):
                for photo in photos:
                    for name, (_, url) in servers.items():
                        took, people = identify(url, photo)
                        times[name].append(took)
                        named[name].append(people)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait()
    print(f"{len(photos)} phone-size photos (4032 x 3024), {args.rounds} rounds, "
          f"one request at a time")
    for name, took in times.items():
        print(f"{name:<7} median {statistics.median(took) * 1000:6.1f} ms, "
              f"slowest {max(took) * 1000:6.1f} ms per request")
    if args.before:
        same = sum(a == b for a, b in zip(named["now"], named["before"]))
        print(f"the same people named in {same} of {len(named['now'])} answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
