"""Search latency and recall@1 of the face index at 10k, 100k and 1M faces.

The embeddings are synthetic but shaped like real ones: each identity has a random unit
centre in 128 dimensions, and each face is that centre plus Gaussian noise, renormalised.
The noise is set so that two faces of one identity have the mean cosine similarity that
SFace gives genuine LFW pairs (``--genuine``; measured on 600 LFW View 1 genuine pairs:
mean 0.66, s.d. 0.11), while two faces of different identities land near 0 with a spread
of 0.09 (random centres in 128-d), close to SFace's impostor pairs. Plain random unit
vectors would have no near neighbours and would make any index look perfect.

Recall@1 is the share of queries whose first result is the exact search's first result.
Queries are new faces of enrolled identities, one at a time (the latency a user sees).
With ``--removed SHARE``, that share of the faces is removed after the build (an
approximate index forgets them and searches past them) and the truth is the exact search
over the faces left.

    python scripts/benchmark_search.py [--sizes 10000 100000 1000000] [--queries 500]
                                       [--removed 0.15]
"""

from __future__ import annotations

import argparse
import sys
import time

import faiss
import numpy as np

from facerec.storage.index import FaceIndex

DIM = 128
FACES_PER_IDENTITY = 5


def faces_of(centres: np.ndarray, genuine: float, rng: np.random.Generator) -> np.ndarray:
    """Unit faces around unit ``centres``; cos(face, face') averages ``genuine``."""
    sigma = np.sqrt(1.0 / genuine - 1.0)
    noise = rng.standard_normal(centres.shape).astype(np.float32) * (sigma / np.sqrt(DIM))
    faces = centres + noise
    return faces / np.linalg.norm(faces, axis=1, keepdims=True)


def run(size: int, queries: int, genuine: float, removed: float,
        rng: np.random.Generator) -> None:
    identities = size // FACES_PER_IDENTITY
    centres = rng.standard_normal((identities, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    enrolled = faces_of(np.repeat(centres, FACES_PER_IDENTITY, axis=0), genuine, rng)
    ids = np.arange(1, len(enrolled) + 1, dtype=np.int64)
    started = time.perf_counter()
    index = FaceIndex.build(ids, enrolled, DIM)
    build_s = time.perf_counter() - started
    gone = rng.choice(len(ids), int(removed * len(ids)), replace=False)
    index.remove(ids[gone])
    live = np.setdiff1d(np.arange(len(ids)), gone)
    asked = faces_of(centres[rng.integers(0, identities, queries)], genuine, rng)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(enrolled[live])
    _, truth = exact.search(asked, 1)
    latencies, hits = [], 0
    for row in range(queries):
        start = time.perf_counter()
        _, found = index.search(asked[row:row + 1], 10)
        latencies.append(time.perf_counter() - start)
        hits += int(found[0, 0] == ids[live[truth[row, 0]]])
    ms = np.array(latencies) * 1000
    print(f"{size:>9,} {index.kind:>6} {build_s:>8.1f}s {np.percentile(ms, 50):>8.3f} "
          f"{np.percentile(ms, 99):>8.3f} {hits / queries:>9.4f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--removed", type=float, default=0.0,
                        help="share of the faces removed after the build, 0..1")
    parser.add_argument("--genuine", type=float, default=0.66,
                        help="mean cosine similarity of two faces of one identity")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, "
          f"{args.queries} single queries, top-10, {args.removed:.0%} of the faces removed")
    print(f"{'faces':>9} {'index':>6} {'build':>9} {'p50 ms':>8} {'p99 ms':>8} {'recall@1':>9}")
    for size in args.sizes:
        run(size, args.queries, args.genuine, args.removed, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
