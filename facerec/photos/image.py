"""Turning whatever a user hands us into one convention: RGB uint8, shape (H, W, 3).

Accepted inputs: a path (str or Path), bytes, a PIL image, a numpy array, a torch tensor.

* numpy arrays are taken as **RGB** unless ``order="BGR"`` is given (what OpenCV's
  ``cv2.imread`` and ``VideoCapture`` return); (H, W) is grayscale, (H, W, 4) has alpha.
* torch tensors are (3, H, W) RGB, uint8 or float in 0..1, as torchvision uses them.
* Files and bytes are decoded by Pillow with EXIF orientation applied; grayscale, palette,
  16-bit, CMYK and transparent images are converted (transparency over white).

Anything that is not a readable image raises ImageError naming the input and the reason
(whatever the decoder of its format raised: a text chunk too large, a bad header, no
memory left);
a path that is not a regular file, or a file above ``paths.MAX_FILE_BYTES``, is refused
unread, and images above ``max_pixels`` are refused before they are decoded.
"""

from __future__ import annotations

import functools
import io
import os
import warnings
from datetime import datetime
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from facerec.errors import ImageError
from facerec.photos.jpeg import clean_jpeg_pixels
from facerec.photos.paths import UnreadableFile, read_file_and_state

ImageInput = str | Path | bytes | Image.Image | np.ndarray | torch.Tensor
ChannelOrder = Literal["RGB", "BGR"]

MAX_PIXELS = 120_000_000
"""Largest image accepted, in pixels (a 12,000 x 10,000 photo); more is refused unread."""


def load_image(source: ImageInput, order: ChannelOrder = "RGB",
               max_pixels: int = MAX_PIXELS, max_side: int | None = None) -> np.ndarray:
    """Read ``source`` as an RGB uint8 array of shape (H, W, 3), C-contiguous.

    Args:
        source: path, bytes, PIL image, numpy array or torch tensor (see the module doc).
        order: channel order of a 3- or 4-channel numpy array; ignored for other inputs.
        max_pixels: refuse larger images (decompression-bomb guard).
        max_side: for files and bytes, reduce a larger image so its longer side is at
            most this, as early as the format allows (a JPEG is decoded at a reduced
            scale); the caller scales coordinates back with ``image_size``.

    Raises:
        ImageError: the input cannot be read as an image.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        return decode_image(read_image_file(path), str(path), max_pixels, max_side)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode_image(bytes(source), "<bytes>", max_pixels, max_side)
    if isinstance(source, Image.Image):
        return _from_pil(source, "<PIL image>", max_pixels)
    if isinstance(source, np.ndarray):
        return _from_array(source, order, "<array>", max_pixels)
    if isinstance(source, torch.Tensor):
        return _from_tensor(source, max_pixels)
    raise ImageError(f"<{type(source).__name__}>", "not an image type facerec reads")


def halved(pixels: np.ndarray) -> np.ndarray:
    """(H // 2, W // 2, C) ``pixels``, each 2 x 2 block averaged (an odd last row or
    column left out)."""
    rows, columns = pixels.shape[0] // 2, pixels.shape[1] // 2
    return cv2.resize(pixels[:2 * rows, :2 * columns], (columns, rows),
                      interpolation=cv2.INTER_AREA)


def decode_image(data: bytes, name: str, max_pixels: int = MAX_PIXELS,
                 max_side: int | None = None, at_least: int | None = None) -> np.ndarray:
    """Decode an encoded image's bytes as ``load_image`` does, naming ``name`` (a path, or
    how an upload was sent) in the ImageError when they are not a usable image.

    ``at_least``: let the decoder give a smaller copy whose longer side is still at least
    this, when its format can decode reduced (JPEG: a half, a quarter or an eighth);
    other formats decode in full (see ``facerec.photos.photo``)."""
    return _from_pil(_open_bytes(data, name, max_pixels), name, max_pixels, max_side,
                     at_least, data)


def read_image_file(path: Path) -> bytes:
    """The bytes of the photo file at ``path`` (see ``read_image_file_and_state``)."""
    return read_image_file_and_state(path)[0]


def read_image_file_and_state(path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes of the photo file at ``path`` and the file's state once they were read
    (see ``paths.read_file_and_state``).

    Raises:
        ImageError: naming the path, when it cannot or must not be read.
    """
    try:
        return read_file_and_state(path)
    except UnreadableFile as exc:
        raise ImageError(path, exc.reason) from None
    except FileNotFoundError:
        raise ImageError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageError(path, "is a folder, not an image") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None
    except OSError as exc:
        raise ImageError(path, f"cannot read: {exc.strerror or exc}") from None


def _open_bytes(data: bytes, name: str, max_pixels: int) -> Image.Image:
    if not data:
        raise ImageError(name, "empty file")
    if _is_heif(data) and not _heif_readable():
        raise ImageError(name, HEIF_MISSING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError(name, "not an image (unknown or unsupported format)") from None
    except Image.DecompressionBombError:
        raise ImageError(name, "image too large (decompression bomb guard)") from None
    except Exception as exc:  # noqa: BLE001 - any decoder's failure is the file's reason
        raise ImageError(name, f"corrupt image: {_reason(exc)}") from None
    _check_size(image.width, image.height, name, max_pixels)
    return image


_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")

HEIF_MISSING = ("a HEIC/HEIF photo, and the reader for them is not installed: "
                "pip install pi-heif")


def _is_heif(data: bytes) -> bool:
    """Whether ``data`` is a HEIC/HEIF file, by the brand its ``ftyp`` box names."""
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


@functools.cache
def _heif_readable() -> bool:
    """Register pi-heif's HEIC/HEIF reader with Pillow, once, when the first such photo
    comes (other photos never pay for it); False when it is not installed. libheif applies
    the photo's rotation (its ``irot``/``imir`` boxes) as it decodes and resets the EXIF
    orientation, so no photo is turned twice."""
    try:
        from pi_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def _check_size(width: int, height: int, name: str, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageError(name, f"image too large ({width}x{height} pixels, "
                               f"limit {max_pixels:,})")
    if width < 1 or height < 1:
        raise ImageError(name, f"image has no pixels ({width}x{height})")


def image_size(data: bytes, name: str = "<bytes>", max_pixels: int = MAX_PIXELS
               ) -> tuple[int, int]:
    """(width, height) of an encoded image as ``load_image`` returns it (after EXIF
    rotation), read from its header without decoding the pixels.

    Raises:
        ImageError: not an image, or above ``max_pixels``.
    """
    image = _open_bytes(data, name, max_pixels)
    width, height = image.size
    return (height, width) if _orientation(image) in _QUARTER_TURNS else (width, height)


_ORIENTATION = 0x0112
_QUARTER_TURNS = (5, 6, 7, 8)
"""EXIF orientations whose upright picture has the stored width and height swapped."""


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation of an opened image (1..8; 1 is upright as stored). Missing,
    unreadable or out-of-range metadata counts as upright."""
    try:
        value = image.getexif().get(_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - unreadable metadata: taken as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """(H, W, C) pixels stored with EXIF ``orientation`` (1..8) turned and mirrored to
    how the photo is seen, as Pillow's ``ImageOps.exif_transpose`` does it; a new array,
    or ``pixels`` itself for 1."""
    if orientation == 2:
        return cv2.flip(pixels, 1)
    if orientation == 3:
        return cv2.rotate(pixels, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(pixels, 0)
    if orientation == 5:
        return cv2.transpose(pixels)
    if orientation == 6:
        return cv2.rotate(pixels, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.rotate(cv2.transpose(pixels), cv2.ROTATE_180)
    if orientation == 8:
        return cv2.rotate(pixels, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return pixels


def _from_pil(image: Image.Image, name: str, max_pixels: int,
              max_side: int | None = None, at_least: int | None = None,
              data: bytes | None = None) -> np.ndarray:
    """The RGB pixels of an opened image (reduced first as ``max_side`` and ``at_least``
    ask), turned upright; ``data``: its encoded bytes, which let a clean JPEG be decoded
    by libjpeg-turbo directly (``facerec.photos.jpeg``)."""
    _check_size(image.width, image.height, name, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            wanted = min(filter(None, (max_side, at_least)), default=None)
            if wanted is not None and max(image.size) > wanted:
                factor = wanted / max(image.size)
                image.draft(image.mode if image.mode in ("RGB", "L") else None,
                            (round(image.width * factor), round(image.height * factor)))
            orientation = _orientation(image)
            too_large = max_side is not None and max(image.size) > max_side
            shrink_to = max_side if too_large else None
            pixels = None if shrink_to or data is None else clean_jpeg_pixels(image, data)
            if pixels is None:
                pixels = _decoded_by_pillow(image, shrink_to)
            return _upright(pixels, orientation)
    except Image.DecompressionBombError:
        raise ImageError(name, "image too large (decompression bomb guard)") from None
    except MemoryError:
        raise ImageError(name, "image too large to decode in the memory available") from None
    except Exception as exc:  # noqa: BLE001 - any decoder's failure is the file's reason
        raise ImageError(name, f"corrupt or truncated image: {_reason(exc)}") from None


def _decoded_by_pillow(image: Image.Image, shrink_to: int | None) -> np.ndarray:
    """An opened image's pixels as stored, RGB (H, W, 3) uint8, its longer side shrunk to
    ``shrink_to`` by box averaging when given."""
    image.load()
    if shrink_to is not None:
        factor = shrink_to / max(image.size)
        image = image.resize((max(1, round(image.width * factor)),
                              max(1, round(image.height * factor))), Image.Resampling.BOX)
    return np.array(_to_rgb(image), dtype=np.uint8)


def _reason(exc: Exception) -> str:
    """A decoder's error in a few words: its message, or its kind when it has none."""
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB; transparency is flattened over white."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        wide = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if wide.max(initial=0) > 255 else 255.0
        gray = np.clip(wide * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode == "F":
        flat = np.asarray(image, dtype=np.float64)
        peak = 1.0 if flat.max(initial=0) <= 1.0 else 255.0
        gray = np.clip(flat * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] == 255:  # opaque throughout
            return rgba.convert("RGB")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB") if mode != "RGB" else image


def _from_array(array: np.ndarray, order: ChannelOrder, name: str,
                max_pixels: int) -> np.ndarray:
    if order not in ("RGB", "BGR"):
        raise ImageError(name, f"order must be 'RGB' or 'BGR', got {order!r}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(name, f"expected (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    _check_size(array.shape[1], array.shape[0], name, max_pixels)
    array = _to_uint8(array, name)
    if array.ndim == 2:
        return np.ascontiguousarray(np.repeat(array[:, :, None], 3, axis=2))
    if array.shape[2] == 4:
        alpha = array[:, :, 3:].astype(np.float32) / 255.0
        array = (array[:, :, :3] * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    if order == "BGR":
        array = array[:, :, ::-1]
    return np.ascontiguousarray(array)


def _to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return (array.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageError(name, "array holds NaN or infinite values")
        peak = 1.0 if array.max(initial=0) <= 1.0 else 255.0
        return np.clip(array * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
    raise ImageError(name, f"unsupported pixel type {array.dtype}")


def _from_tensor(tensor: torch.Tensor, max_pixels: int) -> np.ndarray:
    name = "<tensor>"
    if tensor.ndim != 3 or tensor.shape[0] not in (1, 3):
        raise ImageError(name, f"expected a (3, H, W) or (1, H, W) tensor, "
                               f"got {tuple(tensor.shape)}")
    array = tensor.detach().cpu().permute(1, 2, 0).numpy()
    return _from_array(array, "RGB", name, max_pixels)


_EXIF_IFD, _DATE_TIME_ORIGINAL, _DATE_TIME = 0x8769, 0x9003, 0x0132


def date_taken(data: bytes) -> str | None:
    """When an encoded photo was taken, from its EXIF (``DateTimeOriginal``, else the
    ``DateTime`` of its main directory), as ISO 8601 ``YYYY-MM-DDTHH:MM:SS`` in the
    camera's local time; None when it has no readable date. Reads the header only."""
    try:
        if _is_heif(data) and not _heif_readable():
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exif = Image.open(io.BytesIO(data)).getexif()
            stamp = exif.get_ifd(_EXIF_IFD).get(_DATE_TIME_ORIGINAL) or exif.get(_DATE_TIME)
    except Exception:  # noqa: BLE001 - unreadable metadata: no date
        return None
    return _iso_date(stamp)


def _iso_date(stamp: object) -> str | None:
    """EXIF's ``YYYY:MM:DD HH:MM:SS`` as ISO 8601; None for anything else: blank fields,
    the all-zero date cameras write when unset, and dates no calendar has (month 13, hour
    99)."""
    if not isinstance(stamp, str):
        return None
    text = stamp.strip().rstrip("\x00")
    try:
        taken = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    return taken.isoformat()
