"""JPEG pixels straight from libjpeg-turbo into numpy.

Pillow decodes a JPEG into its own four-bytes-a-pixel rows and copies them out again to
become a numpy array; simplejpeg (libjpeg-turbo's TurboJPEG interface) writes the
(H, W, 3) RGB array at once. Both run libjpeg-turbo with its accurate integer IDCT and
smooth chroma upsampling, so the pixels are the same, at a half, a quarter or an eighth
of the size too, in about three quarters of the time.

Only a clean JPEG takes this way: simplejpeg runs strict, so any complaint of
libjpeg-turbo's (a truncated or corrupt stream, extra bytes before a marker, a colour
space it does not convert) gives None, and the caller decodes the file with Pillow, which
decides as it always has what such a file gives (a picture, or an error naming it).
"""

from __future__ import annotations

import numpy as np
import simplejpeg
from PIL import Image

_FORMATS = ("JPEG", "MPO")
"""Pillow's names for a JPEG file (MPO: a phone's JPEG with extra pictures after the first,
whose first picture is the photo)."""

_MODES = ("RGB", "L")
"""Pillow's modes of the JPEGs libjpeg-turbo turns into RGB as Pillow does: YCbCr (or
RGB) colour and grayscale. CMYK and YCCK are left to Pillow."""


def clean_jpeg_pixels(image: Image.Image, data: bytes) -> np.ndarray | None:
    """The RGB pixels (H, W, 3) uint8 of a JPEG Pillow has opened (and perhaps drafted to a
    reduced size, not yet loaded), decoded from its bytes ``data`` at ``image.size``;
    None when it is not a colour or grayscale JPEG, or when libjpeg-turbo reports any
    fault in it, so that Pillow decodes it instead. The pixels are as stored: the EXIF
    orientation is the caller's to apply."""
    if image.format not in _FORMATS or image.mode not in _MODES:
        return None
    width, height = image.size
    try:
        pixels = simplejpeg.decode_jpeg(data, colorspace="RGB", min_width=width,
                                        min_height=height, strict=True)
    except Exception:  # noqa: BLE001 - any fault: Pillow decodes the file and decides
        return None
    return pixels if pixels.shape[:2] == (height, width) else None
