"""Detection rate on faces that are plainly there: close-up portraits and small photos.

From LFW photos (``../shared/faces/lfw``), whose face the detector finds at their own
size, two kinds of hard input are made:

* close-ups: a square crop around the face, 1.0 to 1.4 times its box, enlarged to 1000
  to 1500 pixels (the head-and-shoulders photo people enroll with);
* small photos: the whole photo scaled down so its longer side is 64 to 112 pixels, half
  of them in grey.

A close-up counts as found when a detected box overlaps the face's box (mapped into the
close-up) by IoU >= 0.3; a small photo when any face is found. Each is run with the
detector's default settings and with the two-pass and upscaling steps turned off
(``min_side=None, coarse_side=None``), in the same process.

    python scripts/evaluate_detection.py [--photos 300]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from facerec import DetectorConfig, FaceAnalyzer, load_image

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "faces"


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area > 0 else 0.0


def close_up(image: np.ndarray, box: tuple[float, ...], rng: np.random.Generator
             ) -> tuple[np.ndarray, tuple[float, ...]]:
    """A square crop 1.0-1.4x the face box around its centre, enlarged to 1000-1500 px,
    and the face box in the close-up's coordinates."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(box[2] - box[0], box[3] - box[1]) * rng.uniform(1.0, 1.4)
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1 = int(min(image.shape[1], cx + side / 2))
    y1 = int(min(image.shape[0], cy + side / 2))
    target = int(rng.integers(1000, 1501))
    scale = target / max(x1 - x0, y1 - y0)
    crop = cv2.resize(image[y0:y1, x0:x1], (round((x1 - x0) * scale), round((y1 - y0) * scale)),
                      interpolation=cv2.INTER_CUBIC)
    mapped = ((box[0] - x0) * scale, (box[1] - y0) * scale, (box[2] - x0) * scale,
              (box[3] - y0) * scale)
    return crop, mapped


def small(image: np.ndarray, rng: np.random.Generator, grey: bool) -> np.ndarray:
    longest = int(rng.integers(64, 113))
    scale = longest / max(image.shape[:2])
    out = cv2.resize(image, (max(1, round(image.shape[1] * scale)),
                             max(1, round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    if grey:
        out = np.repeat(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (SHARED / "lfw").is_dir():
        print(f"needs LFW photos at {SHARED / 'lfw'}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    paths = sorted((SHARED / "lfw").glob("*/*.jpg"))
    paths = [paths[i] for i in sorted(rng.choice(len(paths), args.photos, replace=False))]
    now = FaceAnalyzer("cpu")
    before = FaceAnalyzer("cpu", detector_config=DetectorConfig(min_side=None,
                                                                coarse_side=None))
    closeups, smalls = [], []
    for n, path in enumerate(paths):
        image = load_image(path)
        found = before.detect(image)
        if not found:
            continue
        centre = min(found, key=lambda d: abs(d.box[0] + d.box[2] - image.shape[1]))
        closeups.append(close_up(image, centre.box, rng))
        smalls.append(small(image, rng, grey=n % 2 == 1))
    print(f"{len(closeups)} LFW photos whose face is found at their own size")
    for label, analyzer in (("before (one pass, no upscaling)", before), ("now", now)):
        hits = sum(any(iou(d.box, box) >= 0.3 for d in analyzer.detect(crop))
                   for crop, box in closeups)
        found_small = sum(bool(analyzer.detect(image)) for image in smalls)
        print(f"{label:<34} close-ups 1000-1500 px: {hits}/{len(closeups)} "
              f"({hits / len(closeups):.1%}); small 64-112 px: {found_small}/{len(smalls)} "
              f"({found_small / len(smalls):.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
