"""Start-up as a user meets it: ``facerec people`` and a one-photo ``facerec identify``,
each run as a fresh command several times (wall clock, median and slowest; the
process's peak resident memory, median).

A database of the sample photos is enrolled first, in a temporary folder; the weights'
prepared copies are made by that first command, as on a user's first run.

    python scripts/benchmark_startup.py [--runs 5] [--before CHECKOUT]

Each command is run once first (its bytecode written, its files in the page cache), as
on a user's machine after the first run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from facerec.photos.samples import default_dir

SCRIPT = Path(sys.executable).parent / "facerec"


TORCH_ALONE = "import torch alone"
"""The floor under any command that runs the networks: ``python -c 'import torch'``."""


def timed(*args: object, checkout: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of ``facerec ARGS`` (the code of ``checkout``
    when given, put first on the import path), or of ``import torch`` for
    ``TORCH_ALONE``."""
    env = {**os.environ, **({"PYTHONPATH": str(checkout)} if checkout else {})}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python keeps its bytecode
    command = [sys.executable, "-c", "import torch"] if args == (TORCH_ALONE,) else \
        [str(SCRIPT), *map(str, args)]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed")
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="also time an earlier version's code (a checkout, e.g. made "
                             "with git worktree add), the two taking turns")
    args = parser.parse_args()
    samples = default_dir()
    versions = {"now": None, **({"before": args.before} if args.before else {})}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "db"
        timed("enroll", "--db", db, "--name", "obama", samples / "obama.jpg")
        commands = {
            "facerec people": ("people", "--db", db),
            "facerec identify (one photo)": ("identify", "--db", db, samples / "obama2.jpg"),
            "facerec --help": ("--help",),
            "python -c 'import torch'": (TORCH_ALONE,),
        }
        for label, command in commands.items():
            # torch is the same whichever facerec is on the path
            compared = {"now": None} if command == (TORCH_ALONE,) else versions
            for checkout in compared.values():
                timed(*command, checkout=checkout)  # bytecode written, files cached
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in compared}
            for _ in range(args.runs):
                for name, checkout in compared.items():
                    runs[name].append(timed(*command, checkout=checkout))
            for name, found in runs.items():
                walls = [wall for wall, _ in found]
                memory = statistics.median(peak for _, peak in found)
                print(f"{label:<30} {name:<7} median {statistics.median(walls):.2f} s, "
                      f"slowest {max(walls):.2f} s, {memory:,.0f} MiB resident at most "
                      f"({args.runs} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
