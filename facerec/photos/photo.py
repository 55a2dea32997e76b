"""A photo as the networks take it (``Photo``): decoded at its own size (``FullPhoto``),
or smaller than it is, for detection (``ReducedPhoto``). Both say their size, give the
pixels the detector looks at, turn, and say where each face is cropped from.

The detector works on at most ``DetectorConfig.max_side`` pixels (1280), so of a phone's
4032 x 3024 photo it needs a third at most. A JPEG can be decoded at a half, a quarter or
an eighth of its size directly (its DCT scaling), for a fraction of the cost of a full
decode and of shrinking it after; ``decode_for_detection`` decodes at the smallest of
those at least the size asked for. Faces are cropped for the embedder from that reduced
copy when it shows them at least at the crop's size, and from the full photo, decoded
then, when one is smaller (a face in a crowd), so the embeddings are those of a full
decode. A photo given already decoded and as large is reduced alike, each 2 x 2 pixels
averaged (``reduced_for_detection``), so its faces are detected and cropped as its file's
would be. Every coordinate given out is in the full photo's pixels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from facerec.errors import ImageError
from facerec.photos.image import (
    MAX_PIXELS,
    ImageInput,
    decode_image,
    halved,
    image_size,
    load_image,
    read_image_file,
)
from facerec.photos.sideways import turn
from facerec.types import Detection

log = logging.getLogger(__name__)

Crops = tuple[np.ndarray, list[Detection], list[Detection]]
"""Where a photo's faces are cropped from: the pixels, the faces in those pixels, and the
same faces in the photo's own."""


@dataclass(frozen=True, eq=False)
class FullPhoto:
    """A photo decoded at its own size.

    Attributes:
        pixels: (H, W, 3) RGB uint8, what the detector looks at and faces are cropped from.
        name: how errors and warnings name it.
    """

    pixels: np.ndarray
    name: str = "a photo"

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the photo."""
        return self.pixels.shape[1], self.pixels.shape[0]

    def full(self) -> np.ndarray:
        """The photo at its own size, (H, W, 3) RGB uint8."""
        return self.pixels

    def turn(self, degrees: int, pixels: np.ndarray | None = None) -> FullPhoto:
        """The photo turned counterclockwise by ``degrees`` (a multiple of 90);
        ``pixels``: the photo already turned so, when the caller has it."""
        return replace(self, pixels=turn(self.pixels, degrees) if pixels is None else pixels)

    def placed(self, detections: list[Detection]) -> list[Detection]:
        """``detections`` found in ``pixels``, in the photo's own pixels: the same."""
        return detections

    def crops(self, detections: list[Detection], crop_size: int) -> Crops:
        """Faces are cropped from the pixels they were found in."""
        return self.pixels, detections, detections


@dataclass(frozen=True, eq=False)
class ReducedPhoto:
    """A photo at a reduced size, and what gives it in full.

    Attributes:
        pixels: (h, w, 3) RGB uint8, the reduced copy (after EXIF rotation).
        size: (width, height) of the photo itself (after EXIF rotation).
        data: its encoded bytes, or the photo itself, (H, W, 3) RGB uint8, where it was
            given decoded.
        name: how errors name it.
        max_pixels: the size limit its decode was held to.
        turned: degrees counterclockwise the photo is turned by from how it was stored
            (see ``turn``); ``pixels`` and ``size`` are those of the turned photo.
    """

    pixels: np.ndarray
    size: tuple[int, int]
    data: bytes | np.ndarray
    name: str
    max_pixels: int = MAX_PIXELS
    turned: int = 0

    @property
    def scale(self) -> tuple[float, float]:
        """(x, y) factors from the reduced copy's pixels to the photo's."""
        return self.size[0] / self.pixels.shape[1], self.size[1] / self.pixels.shape[0]

    def full(self) -> np.ndarray:
        """The photo at its own size, (H, W, 3) RGB uint8 (decoded now, unless it was
        given decoded)."""
        pixels = self.data if isinstance(self.data, np.ndarray) else \
            decode_image(self.data, self.name, self.max_pixels)
        return turn(pixels, self.turned) if self.turned else pixels

    def turn(self, degrees: int, pixels: np.ndarray | None = None) -> ReducedPhoto:
        """The photo turned counterclockwise by ``degrees`` (a multiple of 90);
        ``pixels``: the reduced copy already turned so, when the caller has it."""
        width, height = self.size
        return replace(self, pixels=turn(self.pixels, degrees) if pixels is None else pixels,
                       size=(height, width) if degrees % 180 else (width, height),
                       turned=(self.turned + degrees) % 360)

    def placed(self, detections: list[Detection]) -> list[Detection]:
        """``detections`` found in the reduced copy, in the photo's own pixels."""
        return [d.rescaled(*self.scale) for d in detections]

    def crops(self, detections: list[Detection], crop_size: int) -> Crops:
        """Where to crop ``detections`` (found in the reduced copy) from: the reduced
        copy when it shows every face at least ``crop_size`` large, else the photo
        decoded in full (the reduced copy still, with a warning, when that fails)."""
        in_photo = self.placed(detections)
        if all(min(d.width, d.height) >= crop_size for d in detections):
            return self.pixels, detections, in_photo
        try:
            return self.full(), in_photo, in_photo
        except ImageError as exc:  # the reduced copy decoded; its faces are kept
            log.warning("%s: cropping from the reduced copy (%s)", self.name, exc.reason)
            return self.pixels, detections, in_photo


Photo = FullPhoto | ReducedPhoto
"""A photo as the networks take it."""


_JPEG_START = b"\xff\xd8\xff"
"""The first bytes of every JPEG file (start of image, then a marker)."""


def decode_for_detection(data: bytes, name: str, side: int | None,
                         max_pixels: int = MAX_PIXELS) -> Photo:
    """An encoded photo for the networks: a ``ReducedPhoto`` when its format decodes
    smaller (JPEG) and its longer side is at least twice ``side``, else a ``FullPhoto``.
    ``side`` None: always in full.

    Raises:
        ImageError: naming ``name``, when the bytes are not a usable image.
    """
    if side is None or not data.startswith(_JPEG_START):
        return FullPhoto(decode_image(data, name, max_pixels), name)  # only JPEGs reduce
    width, height = image_size(data, name, max_pixels)
    if max(width, height) < 2 * side:
        return FullPhoto(decode_image(data, name, max_pixels), name)
    pixels = decode_image(data, name, max_pixels, at_least=side)
    if pixels.shape[:2] == (height, width):
        return FullPhoto(pixels, name)
    return ReducedPhoto(pixels, (width, height), data, name, max_pixels)


def reduced_for_detection(pixels: np.ndarray, name: str, side: int | None) -> Photo:
    """A photo given decoded, for the networks: when its longer side is at least twice
    ``side``, a ``ReducedPhoto`` whose copy is the photo halved (each 2 x 2 pixels
    averaged, an odd last row or column left out, as the detector halves) while it
    stays at least ``side`` long, as a JPEG of it decodes reduced; else a
    ``FullPhoto``. ``side`` None: always as it is."""
    height, width = pixels.shape[:2]
    if side is None or max(width, height) < 2 * side:
        return FullPhoto(pixels, name)
    copy = pixels
    while max(copy.shape[:2]) >= 2 * side:
        copy = halved(copy)
    return ReducedPhoto(copy, (width, height), pixels, name)


def decoded(image: ImageInput | Photo, side: int | None = None) -> Photo:
    """A photo as it is; a file or encoded bytes decoded for detection at ``side``
    (``decode_for_detection``: a large JPEG reduced as it decodes); any other image
    input as ``load_image`` reads it, reduced alike (``reduced_for_detection``).

    Raises:
        ImageError: ``image`` cannot be read as an image.
    """
    if isinstance(image, (FullPhoto, ReducedPhoto)):
        return image
    if isinstance(image, (str, Path)):
        return decode_for_detection(read_image_file(Path(image)), str(image), side)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return decode_for_detection(bytes(image), "<bytes>", side)
    return reduced_for_detection(load_image(image), "a photo", side)
