"""How often the detector's extra looks run, and how often they find a face, per kind of
photo.

The first pass sees faces of about 10 to 300 pixels at the working size; the closer look
(the photo enlarged, for faces near the smallest) and the coarse look (a small copy in a
grey border, for faces near the frame's size) run only when the first pass gives a reason
(``facerec.faces.detector``). For each set this prints how many photos each look ran on,
how many of those it added a face to, and what each costs: the set timed with both looks
and with neither, in turns.

Sets: ``portraits`` (LFW, every 20th photo: one centred face, 250 x 250), ``mixed``,
``phone`` and ``collages`` as ``benchmark_photos.py`` makes them.

    python scripts/measure_looks.py [--sets portraits mixed phone collages] [--rounds 3]
"""

from __future__ import annotations

from facerec.levers import enable_levers

enable_levers()  # as the commands run: before torch is imported

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from benchmark_photos import SHARED, collage_photos, mixed_photos, phone_photos  # noqa: E402

from facerec import FaceAnalyzer  # noqa: E402
from facerec.faces.detector import Looks  # noqa: E402
from facerec.faces.reading import analyze_photos  # noqa: E402
from facerec.levers.allocator import keep_freed_blocks  # noqa: E402


def faces_found(analyzer: FaceAnalyzer, photos: list[Path]) -> int:
    return sum(len(getattr(outcome, "faces", []))
               for _, outcome in analyze_photos(analyzer, ((p, p) for p in photos)))


def seconds(analyzer: FaceAnalyzer, photos: list[Path]) -> float:
    start = time.perf_counter()
    faces_found(analyzer, photos)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=SHARED)
    parser.add_argument("--sets", nargs="+", default=["portraits", "mixed", "phone",
                                                      "collages"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    keep_freed_blocks()
    analyzer = FaceAnalyzer(download=True)
    plain = FaceAnalyzer(download=True, detector_config=replace(
        analyzer.detector.config, coarse_side=None, small_faces="never"))
    with tempfile.TemporaryDirectory() as tmp:
        makers = {"portraits": lambda: sorted(args.faces.glob("lfw/*/*.jpg"))[::20],
                  "mixed": lambda: mixed_photos(args.faces, 60),
                  "phone": lambda: phone_photos(args.faces, Path(tmp)),
                  "collages": lambda: collage_photos(args.faces, Path(tmp))}
        print(f"{'set':10} {'photos':>6} | {'closer look: ran':>16} {'found':>6} "
              f"{'faces':>6} | {'coarse look: ran':>16} {'found':>6} {'faces':>6} | "
              f"{'faces, with / without':>21} | {'ms per photo, with / without':>28}")
        for name in args.sets:
            photos = makers[name]()
            analyzer.detector.looks = Looks()
            with_looks = faces_found(analyzer, photos)
            looks, analyzer.detector.looks = analyzer.detector.looks, Looks()
            without = faces_found(plain, photos)
            times: dict[str, list[float]] = {"with": [], "without": []}
            for _ in range(args.rounds):
                times["with"].append(seconds(analyzer, photos))
                times["without"].append(seconds(plain, photos))
            ms = {k: statistics.median(v) * 1000 / len(photos) for k, v in times.items()}
            closer, coarse = looks.closer, looks.coarse
            print(f"{name:10} {len(photos):6d} | {closer.ran:16d} {closer.found:6d} "
                  f"{closer.faces:6d} | {coarse.ran:16d} {coarse.found:6d} "
                  f"{coarse.faces:6d} | {with_looks:10d} / {without:8d} | "
                  f"{ms['with']:14.1f} / {ms['without']:11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
