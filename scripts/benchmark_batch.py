"""facerec batch embed on a local Ray runtime beside a single-process enrollment.

The same LFW photos (the first N of ``lfw_identities.csv``) go through
``facerec.batch.embed.embed_to_parquet`` with 1 and 2 workers, and through
``Recognizer.enroll`` in one process; printed: photos/s of each, and what Ray adds per
photo (its wall time minus the single process's, over the photos). Ray's start-up is
timed apart.

    python scripts/benchmark_batch.py [--photos 1000]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import ray

from facerec import FaceAnalyzer, Recognizer
from facerec.batch.embed import embed_to_parquet
from facerec.batch.records import read_records

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--photos", type=int, default=1000)
    args = parser.parse_args()
    with open(args.faces / "lfw_identities.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[: args.photos]
    with tempfile.TemporaryDirectory() as tmp:
        known = Path(tmp) / "known"
        for row in rows:
            target = known / row["identity"] / Path(row["image"]).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(args.faces / row["image"])
        started = time.perf_counter()
        with Recognizer.open(Path(tmp) / "db", FaceAnalyzer("cpu")) as recognizer:
            recognizer.enroll(known)
        single = time.perf_counter() - started
        print(f"{len(rows)} photos; single process enroll: {single:.1f} s, "
              f"{len(rows) / single:.1f} photos/s")
        started = time.perf_counter()
        ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
        print(f"ray start-up: {time.perf_counter() - started:.1f} s")
        for workers in (1, 2):
            out = Path(tmp) / f"records-{workers}"
            started = time.perf_counter()
            embed_to_parquet([str(known)], out, workers=workers)
            took = time.perf_counter() - started
            faces = read_records(out, ["face"]).num_rows
            print(f"batch embed, {workers} worker{'s' if workers > 1 else ''}: {took:.1f} s, "
                  f"{len(rows) / took:.1f} photos/s ({faces} rows); Ray adds "
                  f"{1000 * (took - single) / len(rows):+.1f} ms per photo")
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
