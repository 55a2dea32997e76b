"""Enrollment speed: facerec beside the face_recognition command-line tool, same folder.

Both commands are run as a user would run them, start-up included, on one flat folder of
LFW photos, one photo per person (``<person>_<n>.jpg``; each file is enrolled under its
stem by both tools). The tools take turns ``--runs`` times (median and slowest given), so
a change in the machine's load falls on both alike. face_recognition is not a dependency
of facerec; install it for this benchmark only:

    pip install dlib-bin face_recognition_models
    pip install --no-deps face_recognition==1.3.0

    python scripts/benchmark_enroll.py [--photos 300] [--runs 3] [--before CHECKOUT]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def lfw_photos(faces: Path, count: int) -> list[Path]:
    """The first photo of each of the first ``count`` people of LFW, by name."""
    first: dict[str, Path] = {}
    with open(faces / "lfw_identities.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            image = faces / row["image"]
            if row["identity"] not in first or image < first[row["identity"]]:
                first[row["identity"]] = image
    return [first[name] for name in sorted(first)][:count]


def timed(command: list[str], checkout: Path | None = None) -> float:
    """Wall seconds of ``command`` (facerec's code from ``checkout`` when given)."""
    env = {**os.environ, **({"PYTHONPATH": str(checkout)} if checkout else {})}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python keeps its bytecode
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="also time an earlier version's facerec (a checkout, e.g. "
                             "made with git worktree add), in the same turns")
    parser.add_argument("--face-recognition", default=shutil.which("face_recognition"),
                        help="path of the face_recognition command")
    args = parser.parse_args()
    if not args.face_recognition:
        print("face_recognition is not installed (see this script's docstring)",
              file=sys.stderr)
        return 2
    facerec = str(Path(sys.executable).parent / "facerec")
    times: dict[str, list[float]] = {"facerec enroll": [], "face_recognition": []}
    if args.before:
        times["facerec enroll (before)"] = []
    with tempfile.TemporaryDirectory() as tmp:
        known, probe = Path(tmp) / "known", Path(tmp) / "probe"
        known.mkdir()
        probe.mkdir()
        photos = lfw_photos(args.faces, args.photos)
        for photo in photos:
            (known / photo.name).symlink_to(photo)
        (probe / photos[0].name).symlink_to(photos[0])
        for run in range(args.runs):
            for label in times:
                db = Path(tmp) / f"db-{run}-{len(times[label])}-{label.split()[-1]}"
                if label == "face_recognition":
                    command = [args.face_recognition, str(known), str(probe)]
                else:
                    command = [facerec, "-q", "enroll", str(known), "--db", str(db)]
                checkout = args.before if label.endswith("(before)") else None
                times[label].append(timed(command, checkout))
    print(f"{len(photos)} LFW photos (one per person), one process per run, start-up "
          f"included, {args.runs} runs taking turns")
    for label, found in times.items():
        median = statistics.median(found)
        print(f"{label:<26} median {median:6.1f} s  slowest {max(found):6.1f} s  "
              f"{len(photos) / median:6.1f} photos/s")
    ratio = statistics.median(times["face_recognition"]) / statistics.median(
        times["facerec enroll"])
    print(f"facerec is {ratio:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
