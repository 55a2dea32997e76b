"""Photos decoded smaller than they are, for detection.

The detector works on at most ``DetectorConfig.max_side`` pixels (1280), so of a phone's
4032 x 3024 photo it needs a third at most. A JPEG can be decoded at a half, a quarter or
an eighth of its size directly (its DCT scaling), for a fraction of the cost of a full
decode and of shrinking it after; ``decode_for_detection`` decodes at the smallest of
those at least the size asked for. Faces are cropped for the embedder from that reduced
copy when it shows them at least at the crop's size, and from the full photo, decoded
then, when one is smaller (a face in a crowd), so the embeddings are those of a full
decode. Every coordinate given out is in the full photo's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from facerec.photos.image import MAX_PIXELS, ImageInput, decode_image, image_size, load_image
from facerec.photos.sideways import turn


@dataclass(frozen=True, eq=False)
class ReducedPhoto:
    """A photo decoded at a reduced size, and what decodes it in full.

    Attributes:
        pixels: (h, w, 3) RGB uint8, the reduced copy (after EXIF rotation).
        size: (width, height) of the photo itself (after EXIF rotation).
        data: its encoded bytes.
        name: how errors name it.
        max_pixels: the size limit its decode was held to.
        turned: degrees counterclockwise the photo is turned by from how it was stored
            (see ``turn``); ``pixels`` and ``size`` are those of the turned photo.
    """

    pixels: np.ndarray
    size: tuple[int, int]
    data: bytes
    name: str
    max_pixels: int = MAX_PIXELS
    turned: int = 0

    @property
    def scale(self) -> tuple[float, float]:
        """(x, y) factors from the reduced copy's pixels to the photo's."""
        return self.size[0] / self.pixels.shape[1], self.size[1] / self.pixels.shape[0]

    def full(self) -> np.ndarray:
        """The photo decoded at its own size, (H, W, 3) RGB uint8."""
        pixels = decode_image(self.data, self.name, self.max_pixels)
        return turn(pixels, self.turned) if self.turned else pixels

    def turn(self, degrees: int, pixels: np.ndarray | None = None) -> ReducedPhoto:
        """The photo turned counterclockwise by ``degrees`` (a multiple of 90);
        ``pixels``: the reduced copy already turned so, when the caller has it."""
        width, height = self.size
        return replace(self, pixels=turn(self.pixels, degrees) if pixels is None else pixels,
                       size=(height, width) if degrees % 180 else (width, height),
                       turned=(self.turned + degrees) % 360)


_JPEG_START = b"\xff\xd8\xff"
"""The first bytes of every JPEG file (start of image, then a marker)."""


def decode_for_detection(data: bytes, name: str, side: int | None,
                         max_pixels: int = MAX_PIXELS) -> np.ndarray | ReducedPhoto:
    """An encoded photo's pixels for the networks: a ``ReducedPhoto`` when its format
    decodes smaller (JPEG) and its longer side is at least twice ``side``, else the full
    (H, W, 3) RGB uint8 pixels. ``side`` None: always in full.

    Raises:
        ImageError: naming ``name``, when the bytes are not a usable image.
    """
    if side is None or not data.startswith(_JPEG_START):
        return decode_image(data, name, max_pixels)  # only a JPEG decodes reduced
    width, height = image_size(data, name, max_pixels)
    if max(width, height) < 2 * side:
        return decode_image(data, name, max_pixels)
    pixels = decode_image(data, name, max_pixels, at_least=side)
    if pixels.shape[:2] == (height, width):
        return pixels
    return ReducedPhoto(pixels, (width, height), data, name, max_pixels)


def decoded(image: ImageInput | ReducedPhoto) -> np.ndarray | ReducedPhoto:
    """A reduced photo as it is; any other image input decoded (``load_image``)."""
    return image if isinstance(image, ReducedPhoto) else load_image(image)


def detection_pixels(photo: np.ndarray | ReducedPhoto) -> np.ndarray:
    """The pixels the detector sees: a reduced photo's copy, or the pixels themselves."""
    return photo.pixels if isinstance(photo, ReducedPhoto) else photo


def full_pixels(photo: np.ndarray | ReducedPhoto) -> np.ndarray:
    """The photo's own pixels (H, W, 3): a reduced photo decoded in full, or the pixels."""
    return photo.full() if isinstance(photo, ReducedPhoto) else photo


def photo_size(photo: np.ndarray | ReducedPhoto) -> tuple[int, int]:
    """(width, height) of the photo itself, reduced or not."""
    return photo.size if isinstance(photo, ReducedPhoto) else (photo.shape[1], photo.shape[0])


def turned_photo(photo: np.ndarray | ReducedPhoto, degrees: int) -> np.ndarray | ReducedPhoto:
    """The photo turned counterclockwise by ``degrees`` (a multiple of 90), reduced or not."""
    return photo.turn(degrees) if isinstance(photo, ReducedPhoto) else turn(photo, degrees)
