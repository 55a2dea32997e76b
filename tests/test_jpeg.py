"""JPEGs decoded by libjpeg-turbo directly give Pillow's pixels, and only clean ones do:
every JPEG made here in the test, compared with the same file decoded by Pillow."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import simplejpeg
from PIL import Image, ImageFile

from facerec import ImageError
from facerec.photos import jpeg as fast_jpeg
from facerec.photos.image import MAX_PIXELS, _from_pil, _open_bytes, decode_image


def photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """(height, width, 3) RGB: smooth colour noise with edges, as a photo has."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 16 + 2, width // 16 + 2, 3), dtype=np.uint8)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(smooth.astype(np.int16) + rng.integers(-12, 13, smooth.shape), 0,
                   255).astype(np.uint8)


def jpeg(pixels: np.ndarray, mode: str = "RGB", orientation: int = 1, **options) -> bytes:
    image = Image.fromarray(pixels).convert(mode)
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def by_pillow(data: bytes, at_least: int | None = None) -> np.ndarray:
    """What ``decode_image`` gave before JPEGs were decoded directly: Pillow's decode."""
    return _from_pil(_open_bytes(data, "<test>", MAX_PIXELS), "<test>", MAX_PIXELS,
                     at_least=at_least)


@pytest.fixture
def direct_decodes(monkeypatch):
    """How many decodes libjpeg-turbo served, through simplejpeg."""
    calls = []
    real = simplejpeg.decode_jpeg

    def counted(*args, **kwargs):
        pixels = real(*args, **kwargs)
        calls.append(pixels.shape)
        return pixels

    monkeypatch.setattr(fast_jpeg.simplejpeg, "decode_jpeg", counted)
    return calls


@pytest.mark.parametrize("options", [
    {"quality": 92},                                   # a phone's 4:2:0
    {"quality": 95, "subsampling": 0},                 # 4:4:4
    {"quality": 80, "subsampling": 1},                 # 4:2:2
    {"quality": 85, "progressive": True, "optimize": True},
    {"quality": 90, "mode": "L"},                      # grayscale
])
def test_clean_jpegs_give_pillows_pixels_at_every_size(options, direct_decodes):
    options = dict(options)
    data = jpeg(photo_like(1001, 777), options.pop("mode", "RGB"), **options)
    for at_least in (None, 900, 500, 250, 100):  # full, then a half, quarter, eighth
        ours = decode_image(data, "<test>", at_least=at_least)
        np.testing.assert_array_equal(ours, by_pillow(data, at_least))
    assert [shape[:2] for shape in direct_decodes] == [
        (777, 1001), (777, 1001), (389, 501), (195, 251), (98, 126)]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_before(orientation, direct_decodes):
    data = jpeg(photo_like(320, 200, seed=orientation), orientation=orientation)
    ours = decode_image(data, "<test>")
    assert ours.shape == ((320, 200, 3) if orientation >= 5 else (200, 320, 3))
    np.testing.assert_array_equal(ours, by_pillow(data))
    assert len(direct_decodes) == 1


def test_a_phones_mpo_file_gives_its_first_picture(direct_decodes):
    first, second = photo_like(640, 480, seed=1), photo_like(640, 480, seed=2)
    buffer = io.BytesIO()
    Image.fromarray(first).save(buffer, "MPO", save_all=True,
                                append_images=[Image.fromarray(second)], quality=90)
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).format == "MPO"
    np.testing.assert_array_equal(decode_image(data, "<test>"), by_pillow(data))
    assert len(direct_decodes) == 1


def test_faulty_and_unusual_jpegs_are_left_to_pillow(direct_decodes, monkeypatch):
    # face_recognition, imported by other tests, turns Pillow's LOAD_TRUNCATED_IMAGES on
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    clean = jpeg(photo_like(400, 300), quality=90)
    end = clean.rindex(b"\xff\xd9")
    extra_bytes = clean[:end] + b"\x00" * 40 + clean[end:]  # libjpeg-turbo warns
    cmyk = jpeg(photo_like(400, 300), "CMYK", quality=90)
    for data in (extra_bytes, cmyk):
        assert fast_jpeg.clean_jpeg_pixels(Image.open(io.BytesIO(data)), data) is None
        np.testing.assert_array_equal(decode_image(data, "<test>"), by_pillow(data))
    with pytest.raises(ImageError, match="truncated|corrupt"):
        decode_image(clean[:len(clean) // 2], "<test>")
    assert direct_decodes == []  # each fault was reported, not decoded past
