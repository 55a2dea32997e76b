"""Writing the library's named faces into XMP sidecars beside the photos (``xmp``), for
the photo applications that read them. A photo itself is never written to."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from facerec.errors import FacerecError
from facerec.formats.files import atomic_write
from facerec.formats.xmp import FaceRegion, sidecar
from facerec.photos.paths import UnreadableFile, read_file
from facerec.results import ExportReport, LibraryPhoto, Skip

MAX_SIDECAR_BYTES = 16 * 1024 * 1024
"""Largest existing sidecar merged into."""


def sidecar_path(photo: str) -> Path:
    """Where a photo's sidecar goes: its full name plus ``.xmp`` (``IMG_1.jpg.xmp``), as
    digiKam and darktable name them."""
    return Path(photo + ".xmp")


def export_sidecars(photos: Iterable[LibraryPhoto],
                    written_before: dict[str, list[FaceRegion]],
                    written: Callable[[str, list[FaceRegion]], None]) -> ExportReport:
    """Write (or merge into) the sidecar of every photo with its known faces, taking out
    the regions ``written_before`` into it; ``written(path, regions)`` is told of each
    sidecar that now holds ``regions``."""
    report = ExportReport()
    for photo in photos:
        regions = [FaceRegion.from_box(face.person, face.detection.box, photo.size)
                   for face in photo.faces if face.known]
        target = sidecar_path(photo.path)
        try:
            existing = _existing(target)
            data = sidecar(regions, photo.size, existing, written_before.get(photo.path, []))
            if data != existing:
                atomic_write(target, data, shared=True)
            written(photo.path, regions)
        except (FacerecError, ValueError) as exc:  # one sidecar that cannot be merged
            report.skipped.append(Skip(str(target), str(exc)))
        except OSError as exc:
            report.skipped.append(Skip(str(target), exc.strerror or str(exc)))
        else:
            if data == existing:
                report.unchanged += 1
            elif existing is None:
                report.written += 1
            else:
                report.merged += 1
    return report


def write_without(photo: str, written: list[FaceRegion], size: tuple[int, int],
                  people: set[str]) -> list[FaceRegion]:
    """Write the sidecar of ``photo`` again without the regions of ``people`` among the
    regions ``written`` into it before (the others stay as they are); returns the regions
    of facerec it holds now. A sidecar deleted since is left deleted.

    Raises:
        FacerecError, ValueError, OSError: the sidecar cannot be read, merged or written.
    """
    kept = [region for region in written if region.name not in people]
    target = sidecar_path(photo)
    existing = _existing(target)
    if existing is not None:
        data = sidecar(kept, size, existing, written)
        if data != existing:
            atomic_write(target, data, shared=True)
    return kept


def sidecars_naming(folder: Path | None, people: set[str]) -> int:
    """How many sidecars ``export-xmp`` wrote for the library in ``folder`` name one of
    ``people`` (0 without a library, or without a folder to hold one)."""
    if folder is None or not (folder / "library.sqlite").is_file():
        return 0
    from facerec.storage.library_store import LibraryStore

    store = LibraryStore(folder / "library.sqlite", create=False)
    try:
        return sum(any(region[0] in people for region in regions)
                   for regions in store.sidecars().values())
    finally:
        store.close()


def _existing(target: Path) -> bytes | None:
    if not os.path.lexists(target):
        return None
    try:
        return read_file(target, MAX_SIDECAR_BYTES)
    except UnreadableFile as exc:
        raise FacerecError(exc.reason) from None
