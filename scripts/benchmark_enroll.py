"""Enrollment speed: facerec beside the face_recognition command-line tool, same folder.

Both commands are run as a user would run them, start-up included, on one flat folder of
LFW photos (``<person>_<n>.jpg``; each file is enrolled under its stem by both tools).
face_recognition is not a dependency of facerec; install it for this benchmark only:

    pip install dlib-bin face_recognition_models
    pip install --no-deps face_recognition==1.3.0

    python scripts/benchmark_enroll.py [--photos 1000] [--face-recognition PATH]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def lfw_photos(faces: Path, count: int) -> list[Path]:
    with open(faces / "lfw_identities.csv", newline="") as fh:
        images = sorted(faces / row["image"] for row in csv.DictReader(fh))
    return images[:count]


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--face-recognition", default=shutil.which("face_recognition"),
                        help="path of the face_recognition command")
    args = parser.parse_args()
    if not args.face_recognition:
        print("face_recognition is not installed (see this script's docstring)",
              file=sys.stderr)
        return 2
    facerec = str(Path(sys.executable).parent / "facerec")
    with tempfile.TemporaryDirectory() as tmp:
        known, probe = Path(tmp) / "known", Path(tmp) / "probe"
        known.mkdir()
        probe.mkdir()
        photos = lfw_photos(args.faces, args.photos)
        for photo in photos:
            (known / photo.name).symlink_to(photo)
        (probe / photos[0].name).symlink_to(photos[0])
        ours = timed([facerec, "-q", "enroll", str(known), "--db", str(Path(tmp) / "db")])
        theirs = timed([args.face_recognition, str(known), str(probe)])
    print(f"{len(photos)} LFW photos, one process each, start-up included")
    print(f"facerec enroll      {ours:7.1f} s  {len(photos) / ours:6.1f} photos/s")
    print(f"face_recognition    {theirs:7.1f} s  {len(photos) / theirs:6.1f} photos/s")
    print(f"facerec is {theirs / ours:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
