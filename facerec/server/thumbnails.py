"""Small face crops for the web page, kept with the database.

A database keeps one face per photo, so a thumbnail is named after its photo's sha256:
``DIR/thumbnails/<sha256>.jpg`` in a database folder, a row of a table on PostgreSQL
(shared by every server), a JPEG of the face's box widened by a margin, at most ``SIDE``
pixels. Photos enrolled over HTTP are not kept, so their thumbnail is made when they are
enrolled; photos enrolled from files get theirs on first request, from the file (if it is
still there with the same bytes). Only the crop is stored, never the photo, and erasing a
face deletes its crop (``Gallery.remove``).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image

from facerec.errors import ImageError
from facerec.formats.face_crops import face_jpeg
from facerec.photos.image import load_image, read_image_file
from facerec.photos.paths import read_file
from facerec.storage.gallery import Gallery
from facerec.storage.store import FaceRecord

PHOTO_SIDE = 320
"""Longest side of a library photo's thumbnail."""


def photo_jpeg(path: Path, sha256: str) -> bytes | None:
    """A JPEG of the whole photo at ``path``, at most ``PHOTO_SIDE`` pixels a side (decoded
    reduced where the format allows); None when the file's bytes are not the photo with
    digest ``sha256`` any more (other bytes put in place with the same size and time).

    Raises:
        ImageError: the file cannot be read as a photo.
    """
    data = read_image_file(path)
    if hashlib.sha256(data).hexdigest() != sha256:
        return None
    pixels = load_image(data, max_side=PHOTO_SIDE)
    image = Image.fromarray(pixels)
    image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


class Thumbnails:
    """The thumbnails of ``gallery``'s database, kept where it keeps them (its folder,
    or a table every server of a PostgreSQL database shares)."""

    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery

    def keep(self, sha256: str, jpeg: bytes) -> None:
        self.gallery.keep_thumbnail(sha256, jpeg)

    def of(self, face: FaceRecord) -> bytes | None:
        """The face's thumbnail, made from its photo file when missing (None when neither
        is there)."""
        kept = self.gallery.kept_thumbnail(face.sha256)
        if kept is not None:
            return kept
        source = Path(face.source)
        if not source.is_absolute():
            return None
        try:
            data = read_file(source)
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != face.sha256:
            return None  # the file changed since it was enrolled
        try:
            jpeg = face_jpeg(load_image(data), face.detection.box)
        except ImageError:
            return None
        try:
            self.keep(face.sha256, jpeg)
        except OSError:
            pass  # a read-only database still answers, making it each time
        return jpeg
