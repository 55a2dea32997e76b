"""SFace in 8 bits beside SFace in float: time per face at batch 1 and 8, and how close
the embeddings are, on aligned faces of real LFW photos.

Both embedders run in this process, taking turns round by round, on the same crops (the
float analyzer's detections, aligned once). Needs an x86 CPU with PyTorch's FBGEMM
engine (``facerec.models.int8``).

    python scripts/benchmark_int8.py [--faces ../shared/faces] [--photos 64] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from facerec import FaceAnalyzer, load_image  # noqa: E402
from facerec.levers import enable_levers  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def aligned_faces(analyzer: FaceAnalyzer, faces: Path, count: int) -> torch.Tensor:
    """(N, 3, 112, 112) crops of the main face of ``count`` LFW photos spread over the
    alphabet."""
    photos = sorted((faces / "lfw").glob("*/*.jpg"))
    if not photos:
        raise SystemExit(f"no LFW photos under {faces / 'lfw'}")
    crops = []
    for path in photos[:: max(1, len(photos) // count)][:count]:
        image = load_image(path)
        found = analyzer.detect(image)
        if found:
            crops.append(analyzer.align(image, found[:1]))
    return torch.cat(crops)


def ms_per_face(analyzer: FaceAnalyzer, crops: torch.Tensor, batch: int) -> float:
    start = time.perf_counter()
    for first in range(0, len(crops), batch):
        analyzer.embed_crops(crops[first:first + batch])
    return (time.perf_counter() - start) * 1000 / len(crops)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--photos", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    enable_levers()
    float_net = FaceAnalyzer(int8=False)
    int8_net = FaceAnalyzer(int8=True)
    crops = aligned_faces(float_net, args.faces, args.photos)
    cosines = np.sum(float_net.embed_crops(crops) * int8_net.embed_crops(crops), axis=1)
    print(f"{len(crops)} aligned LFW faces, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); median of {args.rounds} rounds, in turns")
    for batch in (1, 8):
        times: dict[str, list[float]] = {"float": [], "int8": []}
        for _ in range(args.rounds):
            times["float"].append(ms_per_face(float_net, crops, batch))
            times["int8"].append(ms_per_face(int8_net, crops, batch))
        ours, theirs = statistics.median(times["int8"]), statistics.median(times["float"])
        print(f"batch {batch}: float {theirs:6.2f} ms a face, int8 {ours:6.2f} ms a face, "
              f"{theirs / ours:.2f}x")
    print(f"cosine of the 8-bit embedding to the float one: mean {cosines.mean():.4f}, "
          f"lowest {cosines.min():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
