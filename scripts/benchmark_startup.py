"""Start-up as a user meets it: ``facerec people`` and a one-photo ``facerec identify``,
each run as a fresh command several times (wall clock, median and slowest).

A database of the sample photos is enrolled first, in a temporary folder; the weights'
prepared copies are made by that first command, as on a user's first run.

    python scripts/benchmark_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from facerec.samples import default_dir

SCRIPT = Path(sys.executable).parent / "facerec"


def timed(*args: object) -> float:
    start = time.perf_counter()
    subprocess.run([str(SCRIPT), *map(str, args)], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    samples = default_dir()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "db"
        timed("enroll", "--db", db, "--name", "obama", samples / "obama.jpg")
        commands = {
            "facerec people": ("people", "--db", db),
            "facerec identify (one photo)": ("identify", "--db", db, samples / "obama2.jpg"),
            "facerec --help": ("--help",),
        }
        for label, command in commands.items():
            walls = [timed(*command) for _ in range(args.runs)]
            print(f"{label:<30} median {statistics.median(walls):.2f} s, slowest "
                  f"{max(walls):.2f} s ({args.runs} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
