"""Photos on their side: faces recognised before and after looking at them turned upright.

Real photos (a sample of ``../shared/faces/lfw`` and the uncropped gallery, probe and
multi-face photos) are turned by 0, 90, 180 and 270 degrees, as a scanner or a camera that
lost the EXIF rotation leaves them. For each, the photo's main face (the one the detector
finds best upright) counts as *recognised* when a face of the turned photo embeds within
cosine 0.6 of it (one person: genuine LFW pairs average 0.66, and the same photo, turned
back, gives about 1.0), and as merely *found* when any face is detected. Before is
``FaceAnalyzer.analyze``; after is ``analyze_upright``, which enrollment uses (and
``identify --upright``). False faces: 4x4 tiles of the two no-face landscapes, each
turned four ways. Times are per photo, both in this process, one after the other.

    python scripts/evaluate_rotation.py [--photos 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from facerec import FaceAnalyzer, load_image
from facerec.photos.sideways import turn

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "faces"
SAME = 0.6
TURNS = (0, 90, 180, 270)


def photos_with_faces(count: int) -> list[Path]:
    lfw = sorted((SHARED / "lfw").glob("*/*.jpg"))
    picked = [lfw[i] for i in np.random.default_rng(0).choice(len(lfw), count, replace=False)]
    return picked + sorted((SHARED / "gallery").glob("*/*.jpg")) + \
        sorted((SHARED / "probes").glob("*.jpg")) + sorted((SHARED / "photos").glob("*.jpg"))


def no_face_views() -> list[np.ndarray]:
    views = []
    for path in sorted((SHARED / "photos").glob("no_face_*.jpg")):
        pixels = load_image(path)
        height, width = pixels.shape[0] // 4, pixels.shape[1] // 4
        views += [pixels[r * height:(r + 1) * height, c * width:(c + 1) * width]
                  for r in range(4) for c in range(4)]
    return views


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=300, help="LFW photos in the sample")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"no photos at {SHARED}", file=sys.stderr)
        return 2
    analyzer = FaceAnalyzer("cpu")
    counts = {(turned, how): [0, 0] for turned in TURNS for how in ("before", "after")}
    seconds = {(turned, how): 0.0 for turned in TURNS for how in ("before", "after")}
    used = 0
    for path in photos_with_faces(args.photos):
        upright = load_image(path)
        faces = analyzer.analyze(upright)
        if not faces:
            continue
        used += 1
        main_face = max(faces, key=lambda f: f.detection.score).embedding
        for turned in TURNS:
            stored = turn(upright, turned)
            for how in ("before", "after"):
                started = time.perf_counter()
                found = analyzer.analyze(stored)
                if how == "after":
                    found, _ = analyzer.analyze_upright(stored, found)
                seconds[turned, how] += time.perf_counter() - started
                counts[turned, how][0] += bool(found)
                counts[turned, how][1] += any(float(np.dot(f.embedding, main_face)) >= SAME
                                              for f in found)
    print(f"{used} photos with a face upright (of {args.photos} LFW + the uncropped ones)")
    print(f"{'turned':>7} {'':>6} {'found':>7} {'recognised':>11} {'ms/photo':>9}")
    for turned in TURNS:
        for how in ("before", "after"):
            found, recognised = counts[turned, how]
            print(f"{turned:>6}d {how:>6} {found / used:>7.1%} {recognised / used:>11.1%} "
                  f"{1000 * seconds[turned, how] / used:>9.1f}")
    views = no_face_views()
    false = {"before": 0, "after": 0}
    for view in views:
        for turned in TURNS:
            stored = turn(view, turned)
            plain = analyzer.analyze(stored)
            false["before"] += len(plain)
            false["after"] += len(analyzer.analyze_upright(stored, plain)[0])
    print(f"false faces on {len(views) * len(TURNS)} no-face views: before {false['before']}, "
          f"after {false['after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
