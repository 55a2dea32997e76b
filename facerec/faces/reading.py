"""Reading photos for the networks: each file read once, its bytes hashed and decoded.

Every command that runs the networks over many photos (detect and embed, enroll,
cluster, evaluate, reindex, batch embed) takes them through ``analyze_photos``: it reads
each photo's bytes once, hashes and decodes those same bytes (so a stored sha256 always
describes the pixels that were embedded; a batch's photos are read on the cores free for
the work, ``read_photos``), runs the networks over ``PHOTO_BATCH`` photos at a time, and
yields, in the order given, each photo's faces or the ``Skip`` saying why it gave none to
analyse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import torch

from facerec.errors import ImageError
from facerec.photos.image import ImageInput, read_image_file
from facerec.photos.photo import Photo, decode_for_detection, decoded
from facerec.results import Skip
from facerec.types import Face

if TYPE_CHECKING:
    from facerec.faces.analyzer import FaceAnalyzer

PHOTO_BATCH = 8
"""Photos decoded and analysed together (their decoded pixels are held at once)."""

Tag = TypeVar("Tag")
In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class Received:
    """A photo's bytes that came without a file: an upload, a row of a dataset.

    Attributes:
        label: how messages name it (the name it was sent with, or where it was read).
        data: the encoded photo.
    """

    label: str
    data: bytes


PhotoSource = Path | Received


@dataclass(frozen=True)
class PhotoFaces:
    """Every face of one photo, and what identifies the bytes they came from.

    Attributes:
        label: how reports name the photo (its path, or a ``Received`` label).
        sha256: digest of the bytes that were decoded.
        size: (width, height) of the decoded photo, after EXIF rotation.
        faces: every face found, in the photo's pixel coordinates, best first.
        turned: the turn (degrees counterclockwise) the faces were found at, when the
            photo was on its side (``analyze_photos(upright=True)``); 0 as it is.
    """

    label: str
    sha256: str
    size: tuple[int, int]
    faces: list[Face]
    turned: int = 0


def analyze_photos(analyzer: FaceAnalyzer, photos: Iterable[tuple[Tag, PhotoSource]],
                   batch: int = PHOTO_BATCH, upright: bool = False
                   ) -> Iterator[tuple[Tag, PhotoFaces | Skip]]:
    """Every face of every photo, read once and analysed in batches.

    Args:
        analyzer: the networks.
        photos: (tag, photo) pairs; the tag (anything the caller needs back: a path, a
            person, a database row) is yielded with the photo's outcome.
        batch: photos per forward pass.
        upright: look again, turned, at a photo with no face or only weak ones
            (``FaceAnalyzer.analyze_upright``): for photos that may be on their side.

    Yields:
        (tag, PhotoFaces) for each photo that decoded, faces or none; (tag, Skip) with
        the reason for each that could not be read or decoded. In the order given.
    """
    pending: list[tuple[Tag, PhotoSource]] = []
    for entry in photos:
        pending.append(entry)
        if len(pending) == batch:
            yield from _analyze_batch(analyzer, pending, upright)
            pending = []
    if pending:
        yield from _analyze_batch(analyzer, pending, upright)


def read_photo(photo: PhotoSource, side: int | None = None
               ) -> tuple[str, Photo]:
    """The sha256 and the decoded RGB pixels (H, W, 3) of one photo, from one read;
    decoded reduced when it is at least twice ``side`` (see ``facerec.photos.photo``).

    Raises:
        ImageError: naming the photo, when it cannot be read or decoded.
    """
    data = photo.data if isinstance(photo, Received) else read_image_file(photo)
    return hashlib.sha256(data).hexdigest(), decode_for_detection(data, label_of(photo), side)


def label_of(photo: PhotoSource) -> str:
    """How messages name a photo."""
    return photo.label if isinstance(photo, Received) else str(photo)


def read_photos(photos: list[PhotoSource], side: int | None = None
                ) -> list[tuple[str, Photo] | ImageError]:
    """``read_photo`` of each photo, in order, or the ImageError saying why it could not
    be read; read and decoded on threads (``on_decoding_threads``), so a batch's decoding
    does not leave a core idle."""

    def read(photo: PhotoSource) -> tuple[str, Photo] | ImageError:
        try:
            return read_photo(photo, side)
        except ImageError as exc:
            return exc

    return on_decoding_threads(read, photos, len(photos))


def decode_photos(images: Sequence[ImageInput | Photo], side: int | None) -> list[Photo]:
    """Each image as a ``Photo`` for detection at ``side`` (``facerec.photos.photo.decoded``:
    a large JPEG file or upload reduced as it decodes, large decoded pixels halved),
    files and encoded bytes decoded on threads as ``read_photos`` does.

    Raises:
        ImageError: the first image, in order, that cannot be read.
    """
    encoded = sum(isinstance(image, (str, Path, bytes, bytearray, memoryview))
                  for image in images)
    return on_decoding_threads(lambda image: decoded(image, side), images, encoded)


def on_decoding_threads(work: Callable[[In], Out], items: Sequence[In], decodes: int
                        ) -> list[Out]:
    """``work`` of each item, in order, on up to as many threads as PyTorch has for its
    CPU work (the cores ``facerec.levers.threads`` found free: decoders and hashing let go of
    Python's lock), or on this thread when ``decodes`` (how many items need decoding) is
    under two."""
    workers = min(decodes, torch.get_num_threads())
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="facerec-decode") as pool:
        return list(pool.map(work, items))


def _analyze_batch(analyzer: FaceAnalyzer, entries: list[tuple[Tag, PhotoSource]],
                   upright: bool) -> Iterator[tuple[Tag, PhotoFaces | Skip]]:
    outcomes: list[PhotoFaces | Skip | None] = []
    decoded: list[tuple[int, str, Photo]] = []
    side = analyzer.detector.config.max_side
    for (_, photo), read in zip(entries, read_photos([photo for _, photo in entries], side)):
        if isinstance(read, ImageError):
            outcomes.append(Skip(label_of(photo), read.reason))
            continue
        digest, pixels = read
        decoded.append((len(outcomes), digest, pixels))
        outcomes.append(None)
    found = analyzer.analyze_batch([pixels for _, _, pixels in decoded]) if decoded else []
    for (slot, digest, pixels), faces in zip(decoded, found):
        turned = 0
        if upright:
            faces, turned = analyzer.analyze_upright(pixels, faces)
        outcomes[slot] = PhotoFaces(label_of(entries[slot][1]), digest, pixels.size,
                                    faces, turned)
    decoded.clear()  # the pixels are not held while the caller works on the results
    for (tag, _), outcome in zip(entries, outcomes):
        assert outcome is not None
        yield tag, outcome
