"""Live recognition speed on a 640x480 video with 1 to 3 faces, on this machine's CPU.

Builds a 20-second clip from real photos (one enrolled person and two strangers who come
and go, moving and growing), runs the same loop as ``facerec watch --headless`` over it,
and prints processed frames per second and the delay from a face's first frame to its
name (wall time inside the loop).

    python scripts/benchmark_watch.py [--faces ../shared/faces] [--seconds 20] [--compile]

With ``--compile`` the detector is compiled first (``facerec watch --compile``); the
compile time is printed apart and not counted in the loop's figures.
"""

from __future__ import annotations

from facerec.levers import enable_levers

enable_levers()  # timed as the commands run: before torch is imported

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from video import comings_and_goings  # noqa: E402

from facerec import FaceAnalyzer, FaceDB  # noqa: E402
from facerec.live.capture import FrameSource  # noqa: E402
from facerec.live.watch import Watcher, json_lines, run  # noqa: E402

FPS = 25


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--compile", action="store_true", help="compile the detector first")
    args = parser.parse_args()
    analyzer = FaceAnalyzer(download=True, compile_detector=args.compile)
    if args.compile:
        start = time.perf_counter()
        analyzer.detect(np.zeros((480, 640, 3), np.uint8))
        print(f"compiling the detector for 640x480 took {time.perf_counter() - start:.1f} s")
    gallery = args.faces / "gallery"
    frames = args.seconds * FPS
    with tempfile.TemporaryDirectory() as tmp:
        video = comings_and_goings(analyzer, args.faces, Path(tmp) / "clip.avi", frames, FPS)
        with FaceDB(Path(tmp) / "db", analyzer) as db:
            db.enroll(name="obama", paths=[gallery / "obama"])
            events = io.StringIO()
            stats = run(FrameSource(str(video)), Watcher(db, json_lines(events)))
    delays = np.array(stats.naming_delays) * 1000
    print(f"{frames} frames of 640x480 with 1-3 faces on {analyzer.device}")
    print(f"processed   {stats.fps:.1f} frames/s (detection every frame, tracks embedded "
          "when new, every 15 frames or when grown)")
    print(f"naming      {len(delays)} named tracks, delay from first frame to name: "
          f"max {delays.max():.0f} ms, mean {delays.mean():.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
