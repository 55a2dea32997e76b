"""Enrollment planning: which photo belongs to whom, and what changed since last time.

Layout of a folder of known people:

* ``DIR/<person>/**/*.jpg``: every image under a first-level folder is that person;
* ``DIR/<person>.jpg``: an image directly in DIR is the person named by its file stem.

With an explicit name, every image given (files or folders) is that one person.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidName
from ..names import MAX_NAME, validate_name
from ..paths import Refusal, read_file, scan_folder
from ..results import EnrollReport, Skip
from ..types import Face

__all__ = ["MAX_NAME", "AnalyzedPhoto", "EnrollReport", "InvalidName", "Skip", "file_digest",
           "plan_folder", "plan_named", "source_key", "validate_name"]

Plan = tuple[list[tuple[str, Path]], list[Refusal]]
"""(person, photo) pairs in a stable order, and the entries refused, with why."""


@dataclass(frozen=True)
class AnalyzedPhoto:
    """One enrollment photo after the pipeline.

    Attributes:
        person: whose photo it is.
        source: the key it is recorded under: a file's absolute path, or
            ``upload:<sha256>`` for bytes received over the network.
        label: how reports name it (the path, or the name an upload was sent with).
        sha256: digest of the photo's bytes.
        faces: every face the pipeline found in it.
        size: the photo's (width, height) in pixels.
    """

    person: str
    source: str
    label: str
    sha256: str
    faces: list[Face]
    size: tuple[int, int]


def plan_folder(root: Path) -> Plan:
    """The photos of a known-people folder: ``root/<person>/**`` and ``root/<person>.jpg``."""
    pairs: list[tuple[str, Path]] = []
    images, refused = scan_folder(root)
    for path in images:
        relative = path.relative_to(root)
        person = relative.parts[0] if len(relative.parts) > 1 else path.stem
        pairs.append((person, path))
    return pairs, refused


def plan_named(name: str, items: Iterable[Path]) -> Plan:
    """Every image among ``items`` (files or folders, recursively) as person ``name``."""
    pairs: list[tuple[str, Path]] = []
    refused: list[Refusal] = []
    for item in items:
        if item.is_dir():
            images, bad = scan_folder(item)
            pairs += [(name, p) for p in images]
            refused += bad
        else:
            pairs.append((name, item))
    return pairs, refused


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (raises OSError, or ``paths.UnreadableFile``, when it
    cannot or must not be read)."""
    return hashlib.sha256(read_file(path)).hexdigest()


def source_key(path: Path) -> str:
    """How a photo is recorded: its absolute path."""
    return str(path.absolute())
