"""The face database at scale: bulk load, index build, search, and one more enrollment.

Measures, on identity-structured synthetic embeddings (as ``benchmark_search.py``: each
identity a random unit centre, each face that centre plus noise, two faces of one
identity at SFace's mean genuine similarity):

1. ``--faces`` (10 million) faces through ``Gallery.add_faces``: bulk load rate into
   SQLite, the index build from SQLite, resident memory, single-query search p50/p99 at
   the product's depth (64 neighbours), and recall@1 against exact search;
2. enrolling one more face into a database of ``--enroll-base`` (1 million) faces: the
   database part (the SQLite commit, then the index catching up in place before the next
   search), p50 and p99 over ``--enrolls`` faces;
3. with ``--http``: the same through ``POST /v1/people/{name}/faces`` of a running
   ``facerec serve``, end to end (upload, networks, commit), with real LFW photos, beside
   the networks alone on the same photos in this process.

    python scripts/benchmark_database.py [--faces 10000000] [--enroll-base 1000000] [--http]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from facerec.storage.gallery import Gallery
from facerec.storage.live_index import build
from facerec.storage.store import NewFace
from facerec.types import Detection

DIM = 128
FACES_PER_IDENTITY = 5
BATCH = 50_000
DETECTION = Detection((40.0, 50.0, 140.0, 170.0), ((70.0, 90.0), (110.0, 90.0), (90.0, 115.0),
                                                   (75.0, 140.0), (105.0, 140.0)), 0.95)
MODEL = "sface-2021dec"


def unit_rows(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


class Identities:
    """Centres of synthetic identities and faces drawn around them."""

    def __init__(self, count: int, genuine: float, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.centres = unit_rows(self.rng.standard_normal((count, DIM)).astype(np.float32))
        self.sigma = np.sqrt(1.0 / genuine - 1.0) / np.sqrt(DIM)

    def faces(self, identities: np.ndarray) -> np.ndarray:
        noise = self.rng.standard_normal((len(identities), DIM)).astype(np.float32)
        return unit_rows(self.centres[identities] + noise * self.sigma)


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def bulk_load(gallery: Gallery, people: Identities, faces: int) -> float:
    """Load ``faces`` faces, five per identity; returns faces per second."""
    gallery._store.set_meta("model", MODEL)
    started = time.perf_counter()
    for start in range(0, faces, BATCH):
        rows = np.arange(start, min(start + BATCH, faces))
        identity = rows // FACES_PER_IDENTITY
        vectors = people.faces(identity)
        gallery.add_faces([NewFace(f"id{i}", f"/synthetic/{r}.jpg", f"{r:064x}", DETECTION,
                                   0.9, v) for r, i, v in zip(rows, identity, vectors)])
        if start // BATCH % 20 == 0:
            print(f"  loaded {rows[-1] + 1:,} faces", file=sys.stderr, flush=True)
    return faces / (time.perf_counter() - started)


def search_figures(gallery: Gallery, people: Identities, queries: int) -> dict[str, float]:
    index = gallery._index.current()
    asked = people.faces(people.rng.integers(0, len(people.centres), queries))
    latencies, found_first = [], []
    for row in range(queries):
        start = time.perf_counter()
        _, ids = index.search(asked[row:row + 1], 64)
        latencies.append(time.perf_counter() - start)
        found_first.append(ids[0, 0])
    truth = exact_first(index, asked)
    ms = np.array(latencies) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "recall@1": float(np.mean(np.array(found_first) == truth))}


def exact_first(index, queries: np.ndarray) -> np.ndarray:
    """The exact nearest id of each query, from the full vectors the index keeps."""
    inner = faiss.downcast_index(index.index.index)
    if isinstance(inner, faiss.IndexRefine):
        flat = faiss.downcast_index(inner.refine_index)
    else:
        flat = inner
    _, rows = flat.search(np.ascontiguousarray(queries), 1)
    return faiss.vector_to_array(index.index.id_map)[rows[:, 0]]


def scale(folder: Path, faces: int, genuine: float, queries: int) -> None:
    people = Identities(faces // FACES_PER_IDENTITY, genuine)
    with Gallery(folder) as gallery:
        rate = bulk_load(gallery, people, faces)
        size_gb = (folder / "faces.sqlite").stat().st_size / 1e9
    print(f"bulk load: {faces:,} faces at {rate:,.0f} faces/s; SQLite file {size_gb:.1f} GB")
    with Gallery(folder, create=False) as gallery:
        for name in ("faces.index", "faces.json"):
            (folder / name).unlink(missing_ok=True)
        started = time.perf_counter()
        index, _ = build(gallery._store, DIM)
        build_s = time.perf_counter() - started
        print(f"index build from SQLite: {build_s:.1f} s ({index.kind}, trained on "
              f"{index.trained_on:,}); peak resident memory {rss_gb():.1f} GB")
        gallery._index._index, gallery._index._seq = index, gallery._store.generation
        figures = search_figures(gallery, people, queries)
        print(f"search, single queries, 64 neighbours: p50 {figures['p50_ms']:.2f} ms, "
              f"p99 {figures['p99_ms']:.2f} ms, recall@1 {figures['recall@1']:.4f} "
              f"({queries} queries)")


def one_more(folder: Path, base: int, genuine: float, enrolls: int) -> None:
    people = Identities(base // FACES_PER_IDENTITY + enrolls, genuine, seed=1)
    with Gallery(folder) as gallery:
        bulk_load(gallery, people, base)
    with Gallery(folder, create=False) as gallery:
        gallery._index.current()  # load (or build) once, as a running server has
        commit, catch_up = [], []
        for n in range(enrolls):
            vector = people.faces(np.array([base // FACES_PER_IDENTITY + n]))
            start = time.perf_counter()
            gallery.add_faces([NewFace(f"new{n}", f"/new/{n}.jpg", f"new{n}", DETECTION, 0.9,
                                       vector[0])])
            middle = time.perf_counter()
            _, ids, person_of = gallery.search(vector, 1)
            end = time.perf_counter()
            assert person_of[int(ids[0, 0])] == f"new{n}"
            commit.append(middle - start)
            catch_up.append(end - middle)
        total = (np.array(commit) + np.array(catch_up)) * 1000
        print(f"one more face into {base:,}: database part p50 {np.percentile(total, 50):.1f} "
              f"ms, p99 {np.percentile(total, 99):.1f} ms (commit p50 "
              f"{np.median(commit) * 1000:.1f} ms, index catch-up and search p50 "
              f"{np.median(catch_up) * 1000:.1f} ms; {enrolls} enrollments, "
              f"{gallery._index.current().kind} index)")


def over_http(folder: Path, enrolls: int) -> None:
    """POST real LFW photos to a server on the database, one new person each."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import httpx
    from server import running_server

    from facerec import FaceAnalyzer, load_image

    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "faces" / "lfw"
    photos = sorted(shared.glob("*/*_0001.jpg"))[:enrolls]
    analyzer = FaceAnalyzer("cpu")
    alone = []
    for photo in photos:
        start = time.perf_counter()
        analyzer.analyze(load_image(photo.read_bytes()))
        alone.append(time.perf_counter() - start)
    with running_server(folder, "--no-access-log") as server, httpx.Client(timeout=60) as client:
        latencies = []
        for n, photo in enumerate(photos):
            data = photo.read_bytes()
            start = time.perf_counter()
            answer = client.post(f"{server.url}/v1/people/http{n}/faces",
                                 files={"images": (photo.name, data)})
            latencies.append(time.perf_counter() - start)
            assert answer.status_code == 201, answer.text
    ms = np.array(latencies) * 1000
    print(f"POST /v1/people/{{name}}/faces into {folder.name}: p50 {np.percentile(ms, 50):.0f} "
          f"ms, p99 {np.percentile(ms, 99):.0f} ms end to end ({len(photos)} LFW photos); "
          f"the networks alone on the same photos: p50 {np.median(alone) * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=10_000_000)
    parser.add_argument("--enroll-base", type=int, default=1_000_000)
    parser.add_argument("--enrolls", type=int, default=100)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--genuine", type=float, default=0.66)
    parser.add_argument("--http", action="store_true", help="also enroll through the server")
    parser.add_argument("--skip-scale", action="store_true", help="skip part 1")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the databases go (default: a temporary folder)")
    args = parser.parse_args()
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads")
    work = Path(tempfile.mkdtemp(prefix="facerec-bench-", dir=args.workdir))
    try:
        if not args.skip_scale:
            scale(work / "large", args.faces, args.genuine, args.queries)
            shutil.rmtree(work / "large")
        one_more(work / "base", args.enroll_base, args.genuine, args.enrolls)
        if args.http:
            over_http(work / "base", min(args.enrolls, 50))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
