"""Running the real ``facerec`` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "facerec"


def run_cli(*args: object, env: dict[str, str] | None = None, timeout: float = 300,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``facerec ARGS`` (the installed console script) in ``cwd``; never raises on
    exit codes."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "facerec"]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout, check=False, cwd=cwd)


def assert_no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stderr, done.stderr
