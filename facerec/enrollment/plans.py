"""Enrollment planning: which photo belongs to whom, before anything is analysed.

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

from facerec.photos.paths import Refusal, read_file, scan_folder

Plan = tuple[list[tuple[str, Path]], list[Refusal]]
"""(person, photo) pairs in a stable order, and the entries refused, with why."""


@dataclass(frozen=True)
class Incoming:
    """A photo offered for enrollment, before it is analysed.

    Attributes:
        person: whose photo it is said to be (a valid name).
        source: the key it is recorded under (``source_key`` or ``upload:<sha256>``).
        label: how reports name it.
        sha256: digest of its bytes.
    """

    person: str
    source: str
    label: str
    sha256: str


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


def upload_source(digest: str) -> str:
    """How an uploaded photo is recorded: by its content, never by a client-given name."""
    return f"upload:{digest}"
