"""Several ``facerec serve`` processes on one PostgreSQL database, measured on one machine.

1. **Visible elsewhere**: a person is enrolled through one server; the other is asked to
   identify a second photo of them until it names them. The delay from the enrollment's
   answer to the first right name, p50 and p99 over the people.
2. **Forgotten elsewhere**: people are removed through one gallery while another, which
   answers nothing, follows the database's changes; the delay from the call to remove
   until the follower's index in memory no longer holds them (conservative: it includes
   the removal's own table rewrite), p50 and p99.
3. **Through nginx**: ``/v1/identify`` requests from ``--clients`` clients through nginx in
   front of two servers on PostgreSQL, beside the same load on one server on a database
   folder (SQLite), in alternating rounds of ``--seconds`` so a change in the machine's
   speed falls on both: requests/s and p50/p99 latency.

4. With ``--scale N`` (a million, say): N synthetic faces (as ``benchmark_database.py``
   makes them) bulk loaded into PostgreSQL and into a database folder: the load rate, a
   new process's start (its index built from the database) with its peak memory, and
   how long a process with its index loaded takes to catch up 1,000 faces another one
   enrolled, until its next search answers with them, and how long erasing a person
   takes.

The servers, nginx and PostgreSQL all run here (PostgreSQL in a temporary folder, as the
tests start it: Debian's server, psycopg, nginx-light; ``scripts/setup.sh --test``), so the
clients, the servers and the database share this machine's cores.
Photos: LFW people with two or more photos from ``../shared/faces`` (first photo
enrolled, second identified), scaled onto 640x480 as ``benchmark_serve.py`` does.

    python scripts/benchmark_shared.py [--people 30] [--clients 8] [--seconds 8] [--rounds 3]
                                       [--scale 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the real servers' harnesses the tests use
sys.path.insert(0, str(REPO / "scripts"))

from benchmark_database import DETECTION, FACES_PER_IDENTITY, MODEL, Identities  # noqa: E402
from benchmark_serve import canvas_jpeg  # noqa: E402
from nginx import running_nginx  # noqa: E402
from postgres import running_postgres  # noqa: E402
from server import free_port, running_server  # noqa: E402

from facerec.storage.gallery import Gallery  # noqa: E402
from facerec.storage.store import NewFace  # noqa: E402


def people_photos(faces: Path, count: int) -> list[tuple[str, bytes, bytes]]:
    """(name, enrollment JPEG, probe JPEG) of ``count`` LFW people with two photos."""
    chosen = []
    for folder in sorted((faces / "lfw").iterdir()):
        photos = sorted(folder.glob("*.jpg"))
        if len(photos) >= 2:
            chosen.append((folder.name, canvas_jpeg(photos[0]), canvas_jpeg(photos[1])))
        if len(chosen) == count:
            break
    return chosen


def post(url: str, path: str, field: str, data: bytes) -> httpx.Response:
    return httpx.post(url + path, files={field: ("photo.jpg", data, "image/jpeg")},
                      timeout=120)


def visible_elsewhere(first: str, second: str, people: list[tuple[str, bytes, bytes]]
                      ) -> list[float]:
    """Seconds from an enrollment through ``first`` to ``second`` naming the person."""
    delays = []
    for name, photo, probe in people:
        added = post(first, f"/v1/people/{name}/faces", "images", photo)
        added.raise_for_status()
        enrolled = time.perf_counter()
        while True:
            faces = post(second, "/v1/identify", "image", probe).json()["faces"]
            if any(face["person"] == name for face in faces):
                delays.append(time.perf_counter() - enrolled)
                break
            if time.perf_counter() - enrolled > 30:
                raise RuntimeError(f"{name} was not named by the other server in 30 s")
    return delays


def forgotten_elsewhere(address: str, people: int) -> list[float]:
    """Seconds from a call to remove a person through one gallery until another one,
    following the changes and asked nothing, holds the log position after it."""
    identities = Identities(people, genuine=0.7, seed=7)
    with Gallery(address) as first, Gallery(address) as second:
        first.claim_model(MODEL)
        rows = np.arange(people * FACES_PER_IDENTITY)
        first.add_faces(faces_of(identities, rows, "forget"))
        second.load_index()
        second.follow_changes()
        delays = []
        for name, _ in first.people():
            start = time.perf_counter()
            first.remove(name)
            target = first.generation
            while second.held_generation < target:
                if time.perf_counter() - start > 30:
                    raise RuntimeError(f"{name} stayed in the follower's memory for 30 s")
                time.sleep(0.002)
            delays.append(time.perf_counter() - start)
    return delays


def load(url: str, probes: list[bytes], clients: int, seconds: float
         ) -> tuple[float, list[float], int]:
    """(requests/s, latencies, errors) of ``clients`` clients identifying for ``seconds``."""
    latencies: list[float] = []
    errors = [0]
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def client(offset: int) -> None:
        with httpx.Client(timeout=120) as session:
            n = offset
            while time.perf_counter() < stop:
                start = time.perf_counter()
                answer = session.post(url + "/v1/identify", files={
                    "image": ("p.jpg", probes[n % len(probes)], "image/jpeg")})
                with lock:
                    if answer.status_code == 200:
                        latencies.append(time.perf_counter() - start)
                    else:
                        errors[0] += 1
                n += clients

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - began), latencies, errors[0]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


START = """
import json, resource, sys, time
from facerec.storage.gallery import Gallery
began = time.perf_counter()
with Gallery(sys.argv[1], create=False) as gallery:
    gallery.load_index()
    seconds = time.perf_counter() - began
print(json.dumps({"seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
"""A new process opening the database and building its index, timed by itself."""


def faces_of(people: Identities, rows: np.ndarray, prefix: str) -> list[NewFace]:
    identity = rows // FACES_PER_IDENTITY
    return [NewFace(f"{prefix}{i}", f"/{prefix}/{r}.jpg", f"{prefix}{r:060x}", DETECTION, 0.9,
                    v) for r, i, v in zip(rows, identity, people.faces(identity))]


def at_scale(location: str | Path, faces: int, env: dict[str, str]) -> dict[str, float]:
    """Bulk load, a new process's start and memory, and a 1,000-face catch-up."""
    people = Identities(faces // FACES_PER_IDENTITY + 1000, genuine=0.66)
    figures = {}
    with Gallery(location) as gallery:
        gallery.claim_model(MODEL)
        began = time.perf_counter()
        for start in range(0, faces, 50_000):
            gallery.add_faces(faces_of(people, np.arange(start, min(start + 50_000, faces)),
                                       "id"))
        figures["load_per_s"] = faces / (time.perf_counter() - began)
    if isinstance(location, Path):  # built from the database, as a new server on one is
        for name in ("faces.index", "faces.json"):
            (location / name).unlink(missing_ok=True)
    started = subprocess.run([sys.executable, "-c", START, str(location)], check=True,
                             capture_output=True, text=True, env={**os.environ, **env})
    figures.update({f"start_{k}": v for k, v in json.loads(started.stdout).items()})
    with Gallery(location, create=False) as reader, Gallery(location, create=False) as writer:
        reader.load_index()
        extra = np.arange(faces, faces + 1000)
        writer.add_faces(faces_of(people, extra, "new"))
        probe = people.faces(np.array([extra[-1] // FACES_PER_IDENTITY]))
        began = time.perf_counter()
        _, ids, names = reader.search(probe, 1)
        figures["catch_up_s"] = time.perf_counter() - began
        assert names[int(ids[0, 0])].startswith("new")
        writer.load_index()  # as a running server has it
        began = time.perf_counter()
        writer.remove("id0")  # erased everywhere the database keeps it
        figures["erase_s"] = time.perf_counter() - began
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=0, metavar="N",
                        help="also load N synthetic faces into each kind of database")
    args = parser.parse_args()
    if args.scale:
        with tempfile.TemporaryDirectory() as scratch, running_postgres() as postgres:
            os.environ.update(postgres.environment())
            for label, location in (("PostgreSQL", postgres.database_url("scale")),
                                    ("database folder", Path(scratch) / "db")):
                f = at_scale(location, args.scale, postgres.environment())
                print(f"{args.scale:,} faces, {label}: bulk load {f['load_per_s']:,.0f} "
                      f"faces/s; a new process builds its index in {f['start_seconds']:.1f} "
                      f"s, peak memory {f['start_peak_mb']:,.0f} MB; 1,000 faces enrolled "
                      f"by another caught up by the next search in {f['catch_up_s']:.2f} s; "
                      f"a person erased in {f['erase_s']:.1f} s")
    people = people_photos(args.faces, args.people)
    probes = [probe for _, _, probe in people]
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        logs = Path(scratch)
        postgres = stack.enter_context(running_postgres())
        address = postgres.database_url("benchmark")
        env = postgres.environment()
        port = free_port()
        public = ("--allowed-host", f"127.0.0.1:{port}")
        first = stack.enter_context(running_server(address, *public, env=env, logs=logs))
        second = stack.enter_context(running_server(address, *public, env=env, logs=logs))
        front = stack.enter_context(running_nginx([first.url, second.url], port))
        delays = visible_elsewhere(first.url, second.url, people)
        print(f"enrolled through one server, named by the other: p50 "
              f"{percentile(delays, 0.5):.0f} ms, p99 {percentile(delays, 0.99):.0f} ms "
              f"({len(delays)} people; each delay includes one identify request)")
        os.environ.update(env)
        delays = forgotten_elsewhere(postgres.database_url("forget"), args.people)
        print(f"removed through one gallery, gone from an idle follower's index: p50 "
              f"{percentile(delays, 0.5):.0f} ms, p99 {percentile(delays, 0.99):.0f} ms "
              f"({len(delays)} people; each delay includes the removal itself)")
        folder = logs / "sqlite-db"
        alone = stack.enter_context(running_server(folder, logs=logs))
        for name, photo, _ in people:
            post(alone.url, f"/v1/people/{name}/faces", "images", photo).raise_for_status()
        rows: dict[str, list[tuple[float, list[float], int]]] = {"shared": [], "alone": []}
        for _ in range(args.rounds):
            rows["shared"].append(load(front, probes, args.clients, args.seconds))
            rows["alone"].append(load(alone.url, probes, args.clients, args.seconds))
        for label, runs in (("nginx, 2 servers, PostgreSQL", rows["shared"]),
                            ("1 server, database folder", rows["alone"])):
            rates = [rate for rate, _, _ in runs]
            latencies = [v for _, values, _ in runs for v in values]
            print(f"{label:<30} {statistics.median(rates):6.1f} req/s (rounds "
                  f"{', '.join(f'{r:.1f}' for r in rates)}), p50 "
                  f"{percentile(latencies, 0.5):.0f} ms, p99 "
                  f"{percentile(latencies, 0.99):.0f} ms, errors "
                  f"{sum(e for _, _, e in runs)}")


if __name__ == "__main__":
    main()
