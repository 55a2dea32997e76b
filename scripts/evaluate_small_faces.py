"""Small faces in crowds, class photos and wide shots: recall, false faces and time, with
the closer look (``DetectorConfig.small_faces``) off, automatic and always.

Group photos are made from real faces: LFW photos (``../shared/faces/lfw``) whose face the
detector finds at their own size are scaled so that face is 20, 30 or 40 pixels wide and
laid out in 8x6 and 16x12 grids over one of the two no-face landscapes of
``../shared/faces/photos``, enlarged to 3000x2250 (a wide shot: the detector works on it
at 1280 pixels, where those faces are 9 to 17 pixels); and scattered: 3, 6 or 12 faces
18 to 45 pixels wide at random places on the same canvas (8 photos of each), a wide shot
with a few small faces apart. A placed face counts as found when a detection overlaps
its box by IoU >= 0.5. False faces: the two landscapes and their 4x4 tiles, each turned
four ways. Ordinary photos: a sample of LFW photos and the uncropped photos, whose time
must not move. All settings in this process, alternated photo by photo.

    python scripts/evaluate_small_faces.py [--faces 200]
"""

from __future__ import annotations

from facerec.levers import enable_levers

enable_levers()  # timed as the commands run: before torch is imported

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from evaluate_rotation import no_face_views

from facerec import DetectorConfig, FaceAnalyzer, load_image
from facerec.photos.sideways import turn

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "faces"
MODES = ("never", "auto", "always")
CANVAS = (3000, 2250)
GRIDS = ((8, 6), (16, 12))
SIZES = (20, 30, 40)
SCATTERED = (3, 6, 12)
"""Faces in each scattered photo (``scattered_photo``); ``SCATTERED_PHOTOS`` photos of each."""
SCATTERED_PHOTOS = 8
SCATTERED_SIZES = (18.0, 45.0)
SCATTER_GRID = (10, 8)
"""Cells a scattered photo's faces are placed in, one face to a cell, so none overlap."""


def iou(a, b) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def recalled(truth: list[tuple[float, ...]], found: list) -> int:
    """Placed faces matched one to one by a detection with IoU >= 0.5."""
    taken, hits = set(), 0
    for box in truth:
        best = max(((iou(box, d.box), i) for i, d in enumerate(found) if i not in taken),
                   default=(0.0, -1))
        if best[0] >= 0.5:
            taken.add(best[1])
            hits += 1
    return hits


def faces_with_boxes(detector, count: int) -> list[tuple[np.ndarray, tuple[float, ...]]]:
    lfw = sorted((SHARED / "lfw").glob("*/*.jpg"))
    chosen = np.random.default_rng(0).choice(len(lfw), count * 2, replace=False)
    faces = []
    for i in chosen:
        pixels = load_image(lfw[i])
        found = detector.detect([pixels])[0]
        if len(found) == 1:
            faces.append((pixels, found[0].box))
        if len(faces) == count:
            break
    return faces


def group_photo(faces, background: np.ndarray, grid: tuple[int, int], size: int,
                rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[float, ...]]]:
    """``faces`` laid out on a grid over ``background``, each scaled so its face is
    ``size`` pixels wide; the canvas and the placed faces' boxes."""
    canvas = cv2.resize(background, CANVAS, interpolation=cv2.INTER_CUBIC)
    columns, rows = grid
    cell_w, cell_h = CANVAS[0] / columns, CANVAS[1] / rows
    truth = []
    for row in range(rows):
        for column in range(columns):
            pixels, box = faces[rng.integers(len(faces))]
            scale = size / (box[2] - box[0])
            tile = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            x = int(column * cell_w + (cell_w - tile.shape[1]) / 2)
            y = int(row * cell_h + (cell_h - tile.shape[0]) / 2)
            height = min(tile.shape[0], CANVAS[1] - y)
            width = min(tile.shape[1], CANVAS[0] - x)
            canvas[y:y + height, x:x + width] = tile[:height, :width]
            truth.append(tuple(v * scale + o for v, o in zip(box, (x, y, x, y))))
    return canvas, truth


def scattered_photo(faces, background: np.ndarray, count: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, list[tuple[float, ...]]]:
    """``count`` of ``faces`` at random places over ``background``, each scaled so its face
    is ``SCATTERED_SIZES`` pixels wide (drawn for each): a wide shot with a few small faces
    apart, none beside another to point at it. The canvas and the faces' boxes."""
    canvas = cv2.resize(background, CANVAS, interpolation=cv2.INTER_CUBIC)
    columns, rows = SCATTER_GRID
    cell_w, cell_h = CANVAS[0] // columns, CANVAS[1] // rows
    truth = []
    for cell in rng.choice(columns * rows, count, replace=False):
        pixels, box = faces[rng.integers(len(faces))]
        scale = rng.uniform(*SCATTERED_SIZES) / (box[2] - box[0])
        tile = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        x = int(cell % columns * cell_w + rng.integers(0, max(1, cell_w - tile.shape[1])))
        y = int(cell // columns * cell_h + rng.integers(0, max(1, cell_h - tile.shape[0])))
        height, width = min(tile.shape[0], CANVAS[1] - y), min(tile.shape[1], CANVAS[0] - x)
        canvas[y:y + height, x:x + width] = tile[:height, :width]
        truth.append(tuple(v * scale + o for v, o in zip(box, (x, y, x, y))))
    return canvas, truth


def timed(detector, pixels: np.ndarray) -> tuple[list, float]:
    started = time.perf_counter()
    found = detector.detect([pixels])[0]
    return found, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=200, help="LFW faces to place")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"no photos at {SHARED}", file=sys.stderr)
        return 2
    detectors = {mode: FaceAnalyzer("cpu", detector_config=DetectorConfig(
        small_faces=mode)).detector for mode in MODES}
    faces = faces_with_boxes(detectors["never"], args.faces)
    landscapes = [load_image(p) for p in sorted((SHARED / "photos").glob("no_face_*.jpg"))]
    rng = np.random.default_rng(1)
    print(f"{len(faces)} LFW faces; canvas {CANVAS[0]}x{CANVAS[1]}; "
          f"recall (IoU >= 0.5), ms per photo")
    print(f"{'grid':>6} {'face px':>7} {'placed':>6} " +
          " ".join(f"{m + ' recall':>14} {m + ' ms':>10}" for m in MODES))
    for grid in GRIDS:
        for size in SIZES:
            photo, truth = group_photo(faces, landscapes[size % len(landscapes)], grid,
                                       size, rng)
            cells = []
            for mode in MODES:
                found, seconds = timed(detectors[mode], photo)
                cells.append(f"{recalled(truth, found) / len(truth):>14.1%} "
                             f"{seconds * 1000:>10.0f}")
            print(f"{grid[0]}x{grid[1]:<3} {size:>7} {len(truth):>6} " + " ".join(cells))
    for count in SCATTERED:
        totals = {mode: [0, 0.0] for mode in MODES}
        placed = 0
        for index in range(SCATTERED_PHOTOS):
            photo, truth = scattered_photo(faces, landscapes[index % len(landscapes)], count,
                                           rng)
            placed += len(truth)
            for mode in MODES:
                found, seconds = timed(detectors[mode], photo)
                totals[mode][0] += recalled(truth, found)
                totals[mode][1] += seconds / SCATTERED_PHOTOS
        print(f"{'scattered':>6} {count:>4} x{SCATTERED_PHOTOS} {placed:>6} " + " ".join(
            f"{hits / placed:>14.1%} {seconds * 1000:>10.0f}"
            for hits, seconds in totals.values()))
    views = [turn(view, degrees) for view in landscapes + no_face_views()
             for degrees in (0, 90, 180, 270)]
    false, spent = dict.fromkeys(MODES, 0), dict.fromkeys(MODES, 0.0)
    for view in views:
        for mode in MODES:
            found, seconds = timed(detectors[mode], view)
            false[mode] += len(found)
            spent[mode] += seconds
    print(f"false faces on {len(views)} no-face views: " +
          ", ".join(f"{mode} {false[mode]} ({1000 * spent[mode] / len(views):.1f} ms/photo)"
                    for mode in MODES))
    ordinary = [pixels for pixels, _ in faces[:100]] + \
        [load_image(p) for p in sorted((SHARED / "photos").glob("*.jpg"))]
    spent = dict.fromkeys(MODES, 0.0)
    for pixels in ordinary:
        for mode in MODES:
            spent[mode] += timed(detectors[mode], pixels)[1]
    print(f"ordinary photos ({len(ordinary)}: LFW and the uncropped ones), ms per photo: " +
          ", ".join(f"{mode} {1000 * spent[mode] / len(ordinary):.1f}" for mode in MODES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
