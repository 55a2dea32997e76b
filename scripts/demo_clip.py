"""A short video to try ``facerec watch`` on without a camera: the sample photos' Obama
all along, Biden from the second second, both moving and growing (640x480, 15 fps, MJPG).

    python scripts/demo_clip.py data/demo-clip.avi [--seconds 8]

The sample photos come from ``facerec samples`` (``scripts/setup.sh`` fetches them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from video import face_patch, write_video  # noqa: E402

from facerec import FaceAnalyzer  # noqa: E402
from facerec.photos.samples import default_dir  # noqa: E402

FPS = 15


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the video to write (.avi)")
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    samples = default_dir()
    if not (samples / "obama.jpg").is_file():
        print(f"no sample photos in {samples}: run facerec samples first", file=sys.stderr)
        return 2
    analyzer = FaceAnalyzer(download=True)
    frames = args.seconds * FPS
    actors = [(face_patch(analyzer, samples / "obama2.jpg"), 0, frames - 1),
              (face_patch(analyzer, samples / "biden.jpg"), FPS, frames - 1)]
    out = args.out.with_suffix(".avi")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_video(out, actors, frames, fps=FPS)
    print(f"wrote {out} ({frames} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
