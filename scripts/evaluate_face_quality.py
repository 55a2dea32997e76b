"""Where recognition stops being trustworthy: accuracy by face size and by head turn.

**Size.** A sample of LFW photos (people with two or more) is shrunk so the main face's
shorter side is S pixels, then read as any photo is (detected, aligned, embedded). Each
small face is compared with every full-size LFW face: with its own person's other
photos (genuine) and with every other person's (impostors). A small face is
trustworthy while its impostors reach the full-size thresholds about as rarely as
full-size faces do, and its own person still passes them; where small faces start
looking like everyone, an open-set threshold set for full-size faces no longer holds.

**Turn.** On the full-size LFW faces, how far the nose sits from the middle of the eyes,
in eye distances (0 for a frontal face, about 0.5 for a face seen half from the side),
splits faces into turn bins; each bin's genuine and impostor rates are given the same
way.

    python scripts/evaluate_face_quality.py [--model sface-2021dec] [--photos 600]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lfw_faces import DEFAULT_FACES, LfwFaces, lfw_faces  # noqa: E402

from facerec import FaceAnalyzer, load_image  # noqa: E402
from facerec.faces.main_face import main_face  # noqa: E402
from facerec.faces.quality import turn_of  # noqa: E402
from facerec.models.registry import get_model  # noqa: E402

SIZES = (10, 12, 14, 16, 20, 24, 32, 40, 64)
RATES = (1e-3, 1e-4)
TURNS = (0.0, 0.15, 0.3, 0.45, 0.6, 10.0)


def shrunk_faces(analyzer: FaceAnalyzer, found: LfwFaces, chosen: np.ndarray, faces: Path,
                 side: int) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of the chosen photos shrunk so their face is ``side`` pixels, and which
    of them still had a face found."""
    images = []
    for i in chosen:
        image = load_image(faces / "lfw" / str(found.paths[i]))
        scale = min(1.0, side / float(found.sizes[i]))
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        images.append(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    vectors, kept = [], []
    for image, faces_found in zip(images, analyzer.analyze_batch(images)):
        face = main_face(faces_found, image.shape[1], image.shape[0])
        kept.append(face is not None)
        if face is not None:
            vectors.append(face.embedding)
    dim = found.embeddings.shape[1]
    return (np.stack(vectors) if vectors else np.zeros((0, dim), np.float32)), np.array(kept)


def rates(probes: np.ndarray, labels: np.ndarray, found: LfwFaces, exclude: np.ndarray,
          thresholds: dict[float, float]) -> tuple[float, dict[float, float], dict[float, float]]:
    """(mean genuine similarity, genuine pass rate and impostor rate per threshold) of
    ``probes`` of people ``labels`` against every LFW face but the ``exclude`` ones."""
    sims = probes @ found.embeddings.T
    sims[np.arange(len(probes)), exclude] = np.nan
    same = labels[:, None] == found.labels[None, :]
    genuine, impostor = sims[same & ~np.isnan(sims)], sims[~same]
    return (float(genuine.mean()),
            {r: float(np.mean(genuine >= t)) for r, t in thresholds.items()},
            {r: float(np.mean(impostor >= t)) for r, t in thresholds.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sface-2021dec")
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--photos", type=int, default=600)
    args = parser.parse_args()
    found = lfw_faces(args.model, args.faces)
    tail = get_model(args.model).impostors.for_faces(1)
    thresholds = {r: tail.similarity_at(r) for r in RATES}
    people, counts = np.unique(found.labels, return_counts=True)
    several = np.isin(found.labels, people[counts >= 2])
    chosen = np.random.default_rng(0).choice(np.flatnonzero(several), args.photos,
                                             replace=False)
    head = "  ".join(f"genuine@{r:.0e}  impostor@{r:.0e}" for r in RATES)
    print(f"# {args.model}: {args.photos} LFW photos; thresholds "
          + ", ".join(f"{t:.3f} (impostor rate {r:.0e})" for r, t in thresholds.items()))
    print(f"{'face px':>8} {'found':>6} {'genuine mean':>12}  {head}")
    _, full_genuine, full_impostor = rates(found.embeddings[chosen], found.labels[chosen],
                                           found, chosen, thresholds)
    analyzer = FaceAnalyzer(embedder=args.model, download=True)
    for side in SIZES:
        vectors, kept = shrunk_faces(analyzer, found, chosen, args.faces, side)
        if not len(vectors):
            print(f"{side:>8} {0:>6.1%}")
            continue
        mean, genuine, impostor = rates(vectors, found.labels[chosen[kept]], found,
                                        chosen[kept], thresholds)
        cells = "  ".join(f"{genuine[r]:>12.1%}  {impostor[r] / r:>9.1f}x nominal"
                          for r in RATES)
        print(f"{side:>8} {kept.mean():>6.1%} {mean:>12.3f}  {cells}")
    cells = "  ".join(f"{full_genuine[r]:>12.1%}  {full_impostor[r] / r:>9.1f}x nominal"
                      for r in RATES)
    print(f"{'full':>8} {'':>6} {'':>12}  {cells}")
    print("\n# head turn (nose off the eyes' middle, in eye distances), full-size faces")
    turns = np.array([turn_of(points) for points in found.landmarks])
    for low, high in zip(TURNS, TURNS[1:]):
        inside = np.flatnonzero((turns >= low) & (turns < high) & several)
        if not len(inside):
            continue
        mean, genuine, impostor = rates(found.embeddings[inside], found.labels[inside],
                                        found, inside, thresholds)
        cells = "  ".join(f"{genuine[r]:>12.1%}  {impostor[r] / r:>9.1f}x nominal"
                          for r in RATES)
        print(f"{low:.2f}-{min(high, 9.99):.2f} {len(inside):>6} {mean:>12.3f}  {cells}")


if __name__ == "__main__":
    main()
