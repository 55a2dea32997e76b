"""Load on the HTTP service, beside the in-process pipeline on the same photos.

Enrolls a gallery into a fresh database, starts ``facerec serve`` on it on a free loopback
port, and for 1, 8 and 32 concurrent clients posting 640x480 one-face photos to
``/v1/identify`` prints requests/s, p50 and p99 latency and errors, beside ``FaceDB.identify``
run in this process on the same photos one at a time. The two alternate in short rounds
(the server idles while this process works and the other way round), so a slower or
faster spell of the machine affects both. Stops by itself; talks to loopback only.

Photos: LFW people with two or more photos from ``../shared/faces`` (the first photo of
each enrolled, the others as probes, each 250x250 photo scaled to 480x480 on a 640x480
grey canvas); without that folder, the sample photos fitted into 640x480.

    python scripts/benchmark_serve.py [--faces ../shared/faces] [--seconds 10]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image

from facerec import FaceAnalyzer, FaceDB
from facerec.photos.samples import default_dir

REPO = Path(__file__).resolve().parent.parent
SIZE = (640, 480)


def canvas_jpeg(photo: Path) -> bytes:
    """The photo scaled to fit 640x480, centred on grey, as a JPEG."""
    image = Image.open(photo).convert("RGB")
    image.thumbnail((SIZE[1] * 4, SIZE[1]), Image.LANCZOS)
    if image.height < SIZE[1]:
        image = image.resize((image.width * SIZE[1] // image.height, SIZE[1]), Image.LANCZOS)
    image.thumbnail(SIZE, Image.LANCZOS)
    canvas = Image.new("RGB", SIZE, (128, 128, 128))
    canvas.paste(image, ((SIZE[0] - image.width) // 2, (SIZE[1] - image.height) // 2))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def gallery_and_probes(faces: Path | None, people: int) -> tuple[dict[str, list[Path]],
                                                                 list[bytes]]:
    """(person -> enrollment photos, probe JPEGs)."""
    if faces is None:
        samples = default_dir()
        gallery = {"obama": [samples / "obama.jpg"], "biden": [samples / "biden.jpg"]}
        probes = [samples / name for name in ("obama2.jpg", "obama3.jpg", "biden.jpg",
                                              "obama.jpg")]
        return gallery, [canvas_jpeg(p) for p in probes]
    photos: dict[str, list[Path]] = defaultdict(list)
    with open(faces / "lfw_identities.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            photos[row["identity"]].append(faces / row["image"])
    chosen = sorted(p for p in photos if len(photos[p]) >= 2)[:people]
    gallery = {p: sorted(photos[p])[:1] for p in chosen}
    probes = [canvas_jpeg(photo) for p in chosen for photo in sorted(photos[p])[1:3]]
    return gallery, probes


@dataclass
class Tally:
    """Requests timed over one or more rounds."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile_ms(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


def in_process(db: FaceDB, probes: list[bytes], seconds: float, tally: Tally) -> None:
    """FaceDB.identify on one photo at a time, for ``seconds``."""
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        began = time.perf_counter()
        db.identify(probes[count % len(probes)])
        tally.latencies.append(time.perf_counter() - began)
        count += 1
    tally.seconds += time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    script = Path(sys.executable).parent / "facerec"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "facerec"]
    process = subprocess.Popen([*command, "-q", "serve", "--db", str(db), "--port", str(port),
                                "--no-access-log"], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/v1/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not start")


BOUNDARY = "facerec-benchmark"
HEADERS = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def multipart(photo: bytes) -> bytes:
    """The request body of one upload, built once so clients spend little CPU."""
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; '
            f'filename="probe.jpg"\r\nContent-Type: image/jpeg\r\n\r\n')
    return head.encode() + photo + f"\r\n--{BOUNDARY}--\r\n".encode()


def load(url: str, bodies: list[bytes], clients: int, seconds: float, tally: Tally) -> None:
    """``clients`` threads, each posting photos back to back for ``seconds``."""
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            index = offset
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    ok = http.post("/v1/identify", content=bodies[index % len(bodies)],
                                   headers=HEADERS).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    tally.latencies.append(time.perf_counter() - began)
                    tally.errors += not ok
                index += clients

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.seconds += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--people", type=int, default=200, help="people enrolled")
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="per client count, for each of server and in-process")
    parser.add_argument("--rounds", type=int, default=3, help="alternations per client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    faces = args.faces if (args.faces / "lfw_identities.csv").is_file() else None
    gallery, probes = gallery_and_probes(faces, args.people)
    print(f"{len(gallery)} people enrolled, {len(probes)} probe photos of 640x480; "
          f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "db"
        db = FaceDB(db_path, FaceAnalyzer(download=True))
        for person, paths in gallery.items():
            db.enroll(name=person, paths=paths)
        in_process(db, probes, 2.0, Tally())  # warm up
        process, url = start_server(db_path)
        bodies = [multipart(p) for p in probes]
        try:
            load(url, bodies, 2, 2.0, Tally())  # warm up
            print(f"{'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}   "
                  f"{'in-process photos/s':>19} {'p50 ms':>7} {'server/in-process':>17}")
            for clients in args.clients:
                served, local = Tally(), Tally()
                for _ in range(args.rounds):
                    in_process(db, probes, args.seconds / args.rounds, local)
                    load(url, bodies, clients, args.seconds / args.rounds, served)
                print(f"{clients:>7} {served.rate:7.1f} {served.percentile_ms(0.5):7.1f} "
                      f"{served.percentile_ms(0.99):7.1f} {served.errors:>6}   "
                      f"{local.rate:19.1f} {local.percentile_ms(0.5):7.1f} "
                      f"{served.rate / local.rate:17.0%}", flush=True)
        finally:
            process.terminate()
            process.wait(30)
            db.close()


if __name__ == "__main__":
    main()
