"""Checking where results will be written before any work starts, so a long run never
ends in an error about its output, and saying in one line why a write failed when it does
(a full disk, a quota, an I/O error)."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from facerec.errors import OutputError


def prepare_report(path: Path, suffixes: Sequence[str] = ()) -> None:
    """Check that a result file can be written at ``path`` (ending in one of
    ``suffixes`` when given).

    Raises:
        OutputError: a wrong suffix, a folder in the way, a missing or unwritable folder.
    """
    if suffixes and path.suffix.lower() not in suffixes:
        raise OutputError(f"{path}: the output must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: the folder {path.parent} does not exist")
    _check_writable(path.parent)


def prepare_folder(path: Path) -> None:
    """Make sure ``path`` is a writable folder (created if missing).

    Raises:
        OutputError: a file is in the way, or the folder cannot be made or written.
    """
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} is a file; give a folder for the annotated photos")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {path}: {exc.strerror or exc}") from None
    _check_writable(path)


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Run a block that writes ``path``; an OSError in it becomes one OutputError line
    ("disk full" for ENOSPC and quotas) and the partly written file is removed."""
    try:
        yield
    except OSError as exc:
        try:
            if path.is_file():
                path.unlink()
        except OSError:
            pass
        raise OutputError(f"cannot write {path}: {write_failure(exc)}") from None


def write_failure(exc: OSError) -> str:
    """What an OSError of a write means, in a few words."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full"
    return exc.strerror or str(exc)


def _check_writable(folder: Path) -> None:
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".facerec-write-check")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise OutputError(f"cannot write to {folder}: {exc.strerror or exc}") from None
