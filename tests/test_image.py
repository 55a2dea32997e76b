"""Every input type and every kind of bad file, made here in the test."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from facerec import ImageError, load_image
from facerec.photos.image import image_size


def rgb_pattern(width: int = 64, height: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 4 % 256, y * 5 % 256, (x + y) % 256], axis=-1).astype(np.uint8)


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_every_input_type_gives_the_same_rgb(tmp_path):
    pixels = rgb_pattern()
    path = tmp_path / "pattern.png"
    Image.fromarray(pixels).save(path)
    tensor = torch.from_numpy(pixels).permute(2, 0, 1)
    for source in (path, str(path), path.read_bytes(), Image.fromarray(pixels), pixels,
                   tensor, tensor.float() / 255.0):
        out = load_image(source)
        assert out.dtype == np.uint8 and out.shape == (48, 64, 3)
        np.testing.assert_array_equal(out, pixels)


def test_bgr_arrays_are_flipped():
    pixels = rgb_pattern()
    np.testing.assert_array_equal(load_image(pixels[:, :, ::-1], order="BGR"), pixels)


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "I;16", "LA", "RGBA", "1"])
def test_modes_become_rgb(mode):
    image = Image.fromarray(rgb_pattern()).convert(mode)
    out = load_image(encode(image, "TIFF" if mode == "CMYK" else "PNG"))
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8


def test_sixteen_bit_keeps_its_range():
    wide = (np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16)
    out = load_image(encode(Image.fromarray(wide), "PNG"))
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255


def test_transparency_is_flattened_over_white():
    rgba = np.zeros((8, 8, 4), np.uint8)
    out = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert (out == 255).all()
    np.testing.assert_array_equal(load_image(rgba), out)


def test_exif_orientation_is_applied():
    pixels = rgb_pattern(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encode(Image.fromarray(pixels), "JPEG", exif=exif, quality=95)
    out = load_image(data)
    assert out.shape == (64, 48, 3)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_seen_as_pillow_shows_it(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(Image.fromarray(rgb_pattern(64, 48)), "PNG", exif=exif)
    shown = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    np.testing.assert_array_equal(load_image(data), shown)
    assert image_size(data) == (shown.shape[1], shown.shape[0])


def test_a_reduced_decode_is_turned_too():
    exif = Image.Exif()
    exif[0x0112] = 8
    data = encode(Image.fromarray(rgb_pattern(640, 480)), "JPEG", exif=exif, quality=95)
    assert load_image(data).shape == (640, 480, 3)
    assert load_image(data, max_side=320).shape == (320, 240, 3)


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"this is not an image at all", "not an image"),
])
def test_bad_bytes_name_the_reason(tmp_path, content, reason):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=reason) as info:
        load_image(path)
    assert info.value.source == str(path)


def test_truncated_jpeg(tmp_path):
    data = encode(Image.fromarray(rgb_pattern(256, 256)), "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated|corrupt"):
        load_image(path)


def test_missing_file_folder_and_unreadable(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_decompression_bomb_is_refused_unread():
    bomb = encode(Image.new("1", (16_000, 16_000)), "PNG")
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="too large"):
        load_image(bomb)


def test_non_ascii_path(tmp_path):
    path = tmp_path / "Zoë Ångström 北京.png"
    Image.fromarray(rgb_pattern()).save(path)
    assert load_image(path).shape == (48, 64, 3)


@pytest.mark.parametrize("source", [np.zeros((4, 4, 5), np.uint8), torch.zeros(4, 4),
                                    np.full((4, 4, 3), np.nan), 42])
def test_bad_arrays_and_types(source):
    with pytest.raises(ImageError):
        load_image(source)
