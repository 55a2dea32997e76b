"""Enrollment planning: which photo belongs to whom, and what changed since last time.

Layout of a folder of known people:

* ``DIR/<person>/**/*.jpg``: every image under a first-level folder is that person;
* ``DIR/<person>.jpg``: an image directly in DIR is the person named by its file stem.

With an explicit name, every image given (files or folders) is that one person.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FacerecError
from ..paths import is_image_name
from ..types import Face

MAX_NAME = 200


class InvalidName(FacerecError, ValueError):
    """A person's name that facerec does not accept."""


@dataclass(frozen=True)
class Skip:
    """A photo that was not enrolled, and why."""

    path: str
    reason: str


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


@dataclass
class EnrollReport:
    """What an enrollment run did. Every photo seen lands in exactly one bucket."""

    people: set[str] = field(default_factory=set)
    photos: int = 0
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[Skip] = field(default_factory=list)
    several_faces: list[Skip] = field(default_factory=list)
    suspicious: list[Skip] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"people": sorted(self.people), "photos": self.photos, "added": self.added,
                "replaced": self.replaced, "unchanged": self.unchanged,
                "removed": self.removed,
                "skipped": [s.__dict__ for s in self.skipped],
                "several_faces": [s.__dict__ for s in self.several_faces],
                "suspicious": [s.__dict__ for s in self.suspicious]}


def validate_name(name: str) -> str:
    """A person's name: 1 to 200 printable characters, no slash or backslash; returned
    stripped of surrounding spaces."""
    cleaned = name.strip()
    if (not cleaned or len(cleaned) > MAX_NAME or not cleaned.isprintable()
            or "/" in cleaned or "\\" in cleaned):
        raise InvalidName(f"invalid person name {name!r}: it must be 1 to {MAX_NAME} "
                         "printable characters, without / or \\")
    return cleaned


def plan_folder(root: Path) -> list[tuple[str, Path]]:
    """(person, photo) pairs of a known-people folder, in a stable order."""
    pairs: list[tuple[str, Path]] = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            pairs.extend((entry.name, p) for p in sorted(entry.rglob("*"))
                         if p.is_file() and is_image_name(p))
        elif entry.is_file() and is_image_name(entry):
            pairs.append((entry.stem, entry))
    return pairs


def plan_named(name: str, items: Iterable[Path]) -> list[tuple[str, Path]]:
    """Every image among ``items`` (files or folders, recursively) as person ``name``."""
    pairs: list[tuple[str, Path]] = []
    for item in items:
        if item.is_dir():
            pairs.extend((name, p) for p in sorted(item.rglob("*"))
                         if p.is_file() and is_image_name(p))
        else:
            pairs.append((name, item))
    return pairs


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (raises OSError when unreadable)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_key(path: Path) -> str:
    """How a photo is recorded: its absolute path."""
    return str(path.absolute())
