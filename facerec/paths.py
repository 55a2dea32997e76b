"""Expanding the files, folders and glob patterns a user names into image paths."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff",
                              ".gif", ".ppm", ".pgm", ".jfif"})


def is_image_name(path: Path) -> bool:
    """Whether the file name has an image extension (case-insensitive)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def expand_inputs(items: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Resolve files, folders (recursively, image files only) and glob patterns.

    Returns:
        (paths in a stable order without duplicates, names that matched nothing).
    """
    found: dict[Path, None] = {}
    unmatched: list[str] = []
    for item in items:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            images = sorted(p for p in path.rglob("*") if p.is_file() and is_image_name(p))
            found.update(dict.fromkeys(images))
        elif path.exists() or path.is_symlink():
            found[path] = None
        elif glob.has_magic(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                unmatched.append(text)
            found.update(dict.fromkeys(files))
        else:
            unmatched.append(text)
    return list(found), unmatched
