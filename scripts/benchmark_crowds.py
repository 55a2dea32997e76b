"""The work one picture of a crowd costs, beside an ordinary photo, with the bound on faces
per photo (``FaceAnalyzer.max_faces``) and without it.

Crowds are made of real faces: LFW photos (``../shared/faces/lfw``) shrunk into a grid
over a 4096x3072 canvas (24x18 and 36x27 cells, about 430 and 970 faces, small as in a
stadium photo), JPEG-encoded as a camera would write them. Ordinary photos: the uncropped
photos of ``../shared/faces/photos``. Each is analysed from its bytes (decoding included),
alternated setting by setting in this process; the median of ``--runs`` is printed with the
faces analysed.

    python scripts/benchmark_crowds.py [--runs 3]
"""

from __future__ import annotations

from facerec.levers import enable_levers

enable_levers()  # timed as the commands run: before torch is imported

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from facerec import FaceAnalyzer

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "faces"
CANVAS = (4096, 3072)
GRIDS = ((24, 18), (36, 27))


def crowd(columns: int, rows: int) -> bytes:
    """A JPEG of ``columns`` x ``rows`` LFW photos tiled over the canvas."""
    width, height = CANVAS
    cell_w, cell_h = width // columns, height // rows
    lfw = sorted((SHARED / "lfw").glob("*/*.jpg"))
    chosen = np.random.default_rng(columns).choice(len(lfw), columns * rows, replace=False)
    canvas = np.full((height, width, 3), 128, np.uint8)
    for cell, index in enumerate(chosen):
        tile = cv2.resize(cv2.imread(str(lfw[index])), (cell_w, cell_h),
                          interpolation=cv2.INTER_AREA)
        y, x = (cell // columns) * cell_h, (cell % columns) * cell_w
        canvas[y:y + cell_h, x:x + cell_w] = tile
    return cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def timed(analyzer: FaceAnalyzer, data: bytes) -> tuple[float, int]:
    start = time.perf_counter()
    faces = analyzer.analyze(data)
    return time.perf_counter() - start, len(faces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    photos = {f"crowd {c}x{r}": crowd(c, r) for c, r in GRIDS}
    for path in sorted((SHARED / "photos").glob("*.jpg")):
        photos[path.name] = path.read_bytes()
    analyzers = {"bounded (100)": FaceAnalyzer("cpu"),
                 "unbounded": FaceAnalyzer("cpu", max_faces=None)}
    for analyzer in analyzers.values():
        analyzer.analyze(photos["crowd 24x18"])  # warm up both at the crowd's size
    times: dict[tuple[str, str], list[float]] = {}
    faces: dict[tuple[str, str], int] = {}
    for _ in range(args.runs):
        for name, data in photos.items():
            for setting, analyzer in analyzers.items():
                seconds, found = timed(analyzer, data)
                times.setdefault((name, setting), []).append(seconds)
                faces[name, setting] = found
    ordinary = [statistics.median(times[name, "bounded (100)"]) for name in photos
                if not name.startswith("crowd")]
    typical = statistics.median(ordinary)
    print(f"median ordinary photo: {typical * 1000:.0f} ms "
          f"({len(ordinary)} photos, bounded setting)")
    print(f"{'photo':32} {'setting':14} {'faces':>6} {'seconds':>8} {'x ordinary':>10}")
    for (name, setting), runs in times.items():
        seconds = statistics.median(runs)
        print(f"{name:32} {setting:14} {faces[name, setting]:6d} {seconds:8.2f} "
              f"{seconds / typical:10.1f}")


if __name__ == "__main__":
    main()
