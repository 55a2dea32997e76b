"""Photos decoded reduced for detection: a phone-size JPEG is detected on a half-size
copy, its faces come back in the photo's own pixels, and each face is cropped from the
copy only when the copy shows it at least at the crop's size, from the full photo
otherwise."""

from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from facerec.errors import ImageError
from facerec.faces.reading import Received, analyze_photos
from facerec.photos.image import load_image
from facerec.photos.photo import (
    FullPhoto,
    ReducedPhoto,
    decode_for_detection,
    reduced_for_detection,
)
from facerec.types import Detection

SIDE = 1280


def jpeg(pixels: np.ndarray, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=92, exif=exif)
    return buffer.getvalue()


def enlarged(pixels: np.ndarray, longer: int) -> np.ndarray:
    scale = longer / max(pixels.shape[:2])
    return cv2.resize(pixels, (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale)),
                      interpolation=cv2.INTER_CUBIC)


def faces_of(analyzer, data: bytes, upright: bool = False):
    [(_, outcome)] = analyze_photos(analyzer, [(0, Received("photo.jpg", data))],
                                    upright=upright)
    return outcome


def detected_sizes(analyzer, monkeypatch) -> list[tuple[int, int]]:
    """The (height, width) of every image the analyzer's detector is given from now on,
    filled in as it runs."""
    sizes: list[tuple[int, int]] = []
    real = analyzer.detector.detect

    def detect(images, *args, **kwargs):
        sizes.extend(image.shape[:2] for image in images)
        return real(images, *args, **kwargs)

    monkeypatch.setattr(analyzer.detector, "detect", detect)
    return sizes


def test_only_jpegs_twice_the_side_decode_reduced():
    pattern = np.random.default_rng(0).integers(0, 255, (1500, 2600, 3), dtype=np.uint8)
    reduced = decode_for_detection(jpeg(pattern), "big.jpg", SIDE)
    assert isinstance(reduced, ReducedPhoto)
    assert reduced.size == (2600, 1500) and reduced.pixels.shape == (750, 1300, 3)
    assert reduced.scale == (2.0, 2.0)
    assert reduced.full().shape == (1500, 2600, 3)
    small = decode_for_detection(jpeg(pattern[:, :2400]), "small.jpg", SIDE)
    assert isinstance(small, FullPhoto) and small.pixels.shape == (1500, 2400, 3)
    assert small.size == (2400, 1500) and small.name == "small.jpg"
    png = io.BytesIO()
    Image.fromarray(pattern).save(png, "PNG")
    assert isinstance(decode_for_detection(png.getvalue(), "big.png", SIDE), FullPhoto)
    assert isinstance(decode_for_detection(jpeg(pattern), "big.jpg", None), FullPhoto)


def test_a_png_is_decoded_once(monkeypatch):
    # a PNG's EXIF may follow its pixels, so reading its orientation decodes it: the
    # size check for a reduced decode must not run on formats that never decode reduced
    pattern = np.random.default_rng(1).integers(0, 255, (300, 400, 4), dtype=np.uint8)
    pattern[..., 3] = 255
    png = io.BytesIO()
    Image.fromarray(pattern, "RGBA").save(png, "PNG")
    decodes = []
    real = PngImagePlugin.PngImageFile.load_prepare

    def counted(self):
        decodes.append(self.size)
        return real(self)

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load_prepare", counted)
    photo = decode_for_detection(png.getvalue(), "photo.png", SIDE)
    np.testing.assert_array_equal(photo.pixels, pattern[..., :3])  # opaque: its colours as they are
    assert decodes == [(400, 300)]


def test_a_turned_phone_photo_is_reduced_upright():
    pattern = np.random.default_rng(1).integers(0, 255, (1500, 2600, 3), dtype=np.uint8)
    reduced = decode_for_detection(jpeg(pattern, orientation=6), "turned.jpg", SIDE)
    assert reduced.size == (1500, 2600) and reduced.pixels.shape == (1300, 750, 3)
    np.testing.assert_array_equal(reduced.full(), load_image(jpeg(pattern, orientation=6)))


def test_large_faces_are_cropped_from_the_reduced_copy(analyzer, samples):
    data = jpeg(enlarged(load_image(samples / "obama.jpg"), 3000))
    outcome = faces_of(analyzer, data)
    reduced = decode_for_detection(data, "photo.jpg", SIDE)
    full = load_image(data)
    assert outcome.size == (full.shape[1], full.shape[0]) == reduced.size
    [face] = outcome.faces
    at_copy = face.detection.rescaled(1 / reduced.scale[0], 1 / reduced.scale[1])
    assert min(at_copy.width, at_copy.height) >= analyzer.crop_size
    np.testing.assert_allclose(face.embedding, analyzer.embed(reduced.pixels, [at_copy])[0],
                               atol=1e-5)
    [as_full] = analyzer.analyze(full)
    assert float(face.embedding @ as_full.embedding) > 0.93  # its landmarks from the coarse look
    assert np.allclose(face.detection.box, as_full.detection.box, atol=0.02 * full.shape[1])


def test_small_faces_are_cropped_from_the_full_photo(analyzer, samples):
    face_photo = load_image(samples / "obama.jpg")
    canvas = np.full((3000, 4000, 3), 120, np.uint8)
    small = enlarged(face_photo, 260)  # a face of about 90 px, 45 at the reduced size
    canvas[1400:1400 + small.shape[0], 2000:2000 + small.shape[1]] = small
    data = jpeg(canvas)
    outcome = faces_of(analyzer, data)
    assert outcome.size == (4000, 3000)
    [face] = outcome.faces
    assert 1950 < face.detection.box[0] < face.detection.box[2] < 2000 + small.shape[1]
    np.testing.assert_allclose(face.embedding,
                               analyzer.embed(load_image(data), [face.detection])[0],
                               atol=1e-5)


def test_the_python_api_reads_files_and_bytes_as_the_commands_do(analyzer, samples,
                                                                  tmp_path, monkeypatch):
    """``analyze`` and ``analyze_batch`` on a file or bytes decode a phone-size JPEG
    reduced, as ``analyze_photos`` does, and answer with the same faces."""
    data = jpeg(enlarged(load_image(samples / "obama.jpg"), 3000))
    path = tmp_path / "phone.jpg"
    path.write_bytes(data)
    expected = faces_of(analyzer, data).faces
    sizes = detected_sizes(analyzer, monkeypatch)
    for found in (analyzer.analyze(path), analyzer.analyze(str(path)), analyzer.analyze(data),
                  *analyzer.analyze_batch([path, data])):
        [face], [want] = found, expected
        np.testing.assert_allclose(face.detection.box, want.detection.box, atol=1e-3)
        np.testing.assert_allclose(face.embedding, want.embedding, atol=1e-5)
    assert sizes and all(max(size) < 2 * SIDE for size in sizes)  # never the full photo


def test_the_python_api_names_a_file_it_cannot_read(analyzer, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a photo")
    with pytest.raises(ImageError, match="broken.jpg"):
        analyzer.analyze_batch([broken])
    with pytest.raises(ImageError, match="missing.jpg"):
        analyzer.analyze(tmp_path / "missing.jpg")


def test_a_phone_photo_on_its_side_is_found_in_its_own_pixels(analyzer, samples):
    upright = enlarged(load_image(samples / "obama.jpg"), 3000)
    sideways = np.ascontiguousarray(np.rot90(upright))  # stored turned, no EXIF to say so
    outcome = faces_of(analyzer, jpeg(sideways), upright=True)
    assert outcome.turned == 270 and outcome.size == (sideways.shape[1], sideways.shape[0])
    [face] = outcome.faces
    [as_upright] = analyzer.analyze(upright)
    assert float(face.embedding @ as_upright.embedding) > 0.95
    x1, y1, x2, y2 = face.detection.box
    assert 0 <= x1 < x2 <= sideways.shape[1] and 0 <= y1 < y2 <= sideways.shape[0]


@pytest.mark.slow
def test_identify_reads_a_phone_photo_reduced_and_annotates_it_in_full(analyzer, samples,
                                                                       tmp_path):
    from cli import run_cli

    db = tmp_path / "db"
    assert run_cli("enroll", "--db", db, "--name", "obama", samples / "obama.jpg"
                   ).returncode == 0
    photo = tmp_path / "phone.jpg"
    photo.write_bytes(jpeg(enlarged(load_image(samples / "obama2.jpg"), 3000)))
    out = tmp_path / "annotated"
    done = run_cli("identify", photo, "--db", db, "--json", "--annotate", out)
    assert done.returncode == 0, done.stderr
    [face] = json.loads(done.stdout)["faces"]
    assert face["person"] == "obama"
    full = load_image(photo)
    height, width = full.shape[:2]
    [as_full] = analyzer.analyze(full)
    assert np.allclose(face["box"], as_full.detection.box, atol=0.02 * width)
    [annotated] = out.iterdir()
    assert load_image(annotated).shape[:2] == (height, width)


def test_a_large_photo_given_decoded_is_reduced_as_its_jpeg_is(analyzer, samples,
                                                                monkeypatch):
    pattern = np.random.default_rng(3).integers(0, 255, (1501, 2603, 3), dtype=np.uint8)
    reduced = reduced_for_detection(pattern, "big", SIDE)
    assert isinstance(reduced, ReducedPhoto) and reduced.size == (2603, 1501)
    assert reduced.pixels.shape == (750, 1301, 3)  # halved, the odd last row and column out
    np.testing.assert_array_equal(reduced.pixels[:2, :2], cv2.resize(
        pattern[:4, :4], (2, 2), interpolation=cv2.INTER_AREA))
    assert reduced.full() is pattern and reduced.turn(90).full().shape == (2603, 1501, 3)
    assert isinstance(reduced_for_detection(pattern[:, :2400], "small", SIDE), FullPhoto)
    assert isinstance(reduced_for_detection(pattern, "big", None), FullPhoto)

    photo = enlarged(load_image(samples / "obama.jpg"), 3000)
    sizes = detected_sizes(analyzer, monkeypatch)
    [face] = analyzer.analyze(photo)
    assert sizes == [(photo.shape[0] // 2, photo.shape[1] // 2)]
    [as_full] = analyzer.analyze(FullPhoto(photo))  # detected on the same halved pixels
    [as_file] = analyzer.analyze(jpeg(photo))
    # mapped back at the photo's size over the copy's, as a reduced JPEG decode is: an odd
    # side's last pixel left out moves a coordinate by its share of the side at most
    np.testing.assert_allclose(face.detection.box, as_full.detection.box, rtol=1 / 1000)
    assert float(face.embedding @ as_file.embedding) > 0.99  # both cropped from half size
    # detection alone reads the photo as analysis does, and finds the same face
    assert analyzer.detect(photo) == [face.detection]
    assert analyzer.detect(jpeg(photo)) == [as_file.detection]


def test_a_photo_full_or_reduced_answers_the_same_questions():
    """One interface: size, the detector's pixels, the full photo, a turn, and where
    faces are cropped from, whether the photo was decoded in full or reduced."""
    pattern = np.random.default_rng(2).integers(0, 255, (1500, 2600, 3), dtype=np.uint8)
    full = decode_for_detection(jpeg(pattern), "big.jpg", None)
    reduced = decode_for_detection(jpeg(pattern), "big.jpg", SIDE)
    for photo in (full, reduced):
        assert photo.size == (2600, 1500) and photo.name == "big.jpg"
        assert photo.full().shape == (1500, 2600, 3)
        turned = photo.turn(90)
        assert turned.size == (1500, 2600) and turned.full().shape == (2600, 1500, 3)
    face = Detection.of((100, 100, 300, 340), [(150, 180), (250, 180), (200, 230),
                                               (160, 290), (240, 290)], 0.9)
    pixels, at_source, in_photo = full.crops([face], 112)
    assert pixels is full.pixels and at_source == in_photo == [face]
    pixels, at_source, in_photo = reduced.crops([face], 112)  # 200 px in the copy
    assert pixels is reduced.pixels and at_source == [face]
    assert in_photo == [face.rescaled(2.0, 2.0)]
    small = face.rescaled(0.25, 0.25)  # 50 px in the copy: cropped from the full photo
    pixels, at_source, in_photo = reduced.crops([small], 112)
    assert pixels.shape == (1500, 2600, 3) and at_source == in_photo == [small.rescaled(2, 2)]
