"""Clustering faces: algorithms compared on LFW, and timed on 100,000 synthetic faces.

LFW: the main face of every image in ``../shared/faces/lfw`` (9,337 images of 4,333
people; one-photo people are singletons), embedded once and cached in ``data/``. For each
algorithm and threshold: pairwise precision and recall, BCubed precision, recall and F,
clusters, ungrouped faces and time. Scale: the identity-structured synthetic embeddings of
``scripts/benchmark_search.py`` (5 faces per identity), graph and clustering timed.

    python scripts/evaluate_clustering.py [--embedder NAME] [--synthetic 100000]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from benchmark_search import DIM, FACES_PER_IDENTITY, faces_of
from tqdm import tqdm

from facerec import FaceAnalyzer
from facerec.clustering.algorithms import chinese_whispers, connected_components
from facerec.clustering.graph import neighbour_graph
from facerec.clustering.metrics import score_clustering
from facerec.evaluation.dataset import embed_photos

REPO = Path(__file__).resolve().parent.parent
K = 20
ALGORITHMS = {
    "components": lambda g: connected_components(g),
    "chinese-whispers": lambda g: chinese_whispers(g),
}


def lfw_embeddings(faces: Path, embedder: str) -> tuple[np.ndarray, np.ndarray]:
    cache = REPO / "data" / f"lfw-embeddings-{embedder}.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            return data["embeddings"], data["labels"]
    with open(faces / "lfw_identities.csv", newline="") as fh:
        photos = [(row["identity"], faces / row["image"]) for row in csv.DictReader(fh)]
    analyzer = FaceAnalyzer(embedder=embedder, download=True)
    with tqdm(total=len(photos), desc="embedding LFW", unit="photo") as bar:
        found = embed_photos(analyzer, photos, bar.update)
    labels = np.array([str(label) for label in found.labels])
    cache.parent.mkdir(exist_ok=True)
    np.savez(cache, embeddings=found.embeddings, labels=labels)
    return found.embeddings, labels


def report(name: str, labels: np.ndarray, truth: np.ndarray, took: float,
           threshold: float, mutual: bool) -> None:
    s = score_clustering(labels, truth)
    print(f"{name:>17} {threshold:>6.3f} {'yes' if mutual else 'no':>6} "
          f"{s.pairwise_precision:>8.4f} {s.pairwise_recall:>7.4f} {s.bcubed_precision:>8.4f} "
          f"{s.bcubed_recall:>7.4f} {s.bcubed_f:>7.4f} {s.clusters:>8} {s.ungrouped:>9} "
          f"{took:>7.2f}s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--embedder", default="sface-2021dec")
    parser.add_argument("--thresholds", type=float, nargs="+",
                        default=[0.40, 0.45, 0.50, 0.55, 0.60])
    parser.add_argument("--synthetic", type=int, default=100_000)
    args = parser.parse_args()
    header = (f"{'algorithm':>17} {'thresh':>6} {'mutual':>6} {'pair P':>8} {'pair R':>7} "
              f"{'BCubed P':>8} {'B R':>7} {'B F':>7} {'clusters':>8} {'ungrouped':>9} "
              f"{'time':>8}")
    if (args.faces / "lfw_identities.csv").is_file():
        embeddings, truth = lfw_embeddings(args.faces, args.embedder)
        print(f"LFW, {args.embedder}: {len(truth)} faces of {len(np.unique(truth))} people")
        print(header)
        for threshold in args.thresholds:
            for mutual in (False, True):
                graph = neighbour_graph(embeddings, K, threshold, mutual)
                for name, run in ALGORITHMS.items():
                    started = time.perf_counter()
                    labels = run(graph)
                    report(name, labels, truth, time.perf_counter() - started, threshold,
                           mutual)
    else:
        print(f"no LFW at {args.faces}; synthetic only", file=sys.stderr)
    rng = np.random.default_rng(0)
    identities = args.synthetic // FACES_PER_IDENTITY
    centres = rng.standard_normal((identities, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = np.repeat(np.arange(identities), FACES_PER_IDENTITY)
    faces = faces_of(centres[truth], 0.66, rng)
    print(f"\nsynthetic: {len(faces)} faces of {identities} identities")
    print(header)
    for threshold in args.thresholds:
        started = time.perf_counter()
        graph = neighbour_graph(faces, K, threshold, mutual=True)
        graph_s = time.perf_counter() - started
        for name, run in ALGORITHMS.items():
            started = time.perf_counter()
            labels = run(graph)
            report(name, labels, truth, graph_s + time.perf_counter() - started, threshold,
                   True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
