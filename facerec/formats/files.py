"""Writing a file so that a crash leaves either the old one or the new one, whole."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def atomic_write(target: Path, data: bytes, shared: bool = False) -> None:
    """Write ``data`` to ``target`` through a synced temporary file renamed into place.

    The file is private to its owner (0600), as face data must be, unless ``shared``:
    then an existing file keeps its mode and a new one follows the umask, as a file
    other programs read (a sidecar beside a photo) should. The temporary file's name is
    short, so a target whose name is near the file system's limit can still be written.
    """
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".facerec-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if shared:
                os.fchmod(fh.fileno(), _shared_mode(target))
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _shared_mode(target: Path) -> int:
    """``target``'s permission bits when it exists, else what the umask gives a new file."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where the system says it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o077)
    os.umask(current)
    return current
