"""Small faces in a wide shot: found by the closer look, which ordinary photos never pay
for, with no false face where there is none."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facerec import DetectorConfig, FaceAnalyzer, load_image
from facerec.faces.detector import Looks


@pytest.fixture(scope="module")
def detectors(model_paths):
    return {mode: FaceAnalyzer("cpu", detector_config=DetectorConfig(small_faces=mode)).detector
            for mode in ("never", "auto", "always")}


def crowd(samples, face_px: int) -> tuple[np.ndarray, int]:
    """A 3000x2250 wide shot of 6x4 sample faces each ``face_px`` wide, over a gradient."""
    ramp = np.linspace(60, 200, 3000, dtype=np.uint8)
    canvas = np.repeat(np.stack([ramp, ramp[::-1], ramp], -1)[None], 2250, axis=0).copy()
    placed = 0
    for row in range(4):
        for column in range(6):
            photo = load_image(samples / ("obama.jpg", "biden.jpg")[(row + column) % 2])
            scale = face_px / (photo.shape[1] * 0.3)  # the face is about 0.3 of the width
            tile = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            y, x = 150 + row * 520, 150 + column * 480
            canvas[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
            placed += 1
    return canvas, placed


def test_a_wide_shot_of_small_faces_is_looked_at_closer(detectors, samples):
    photo, placed = crowd(samples, face_px=36)  # about 15 px where the detector works
    never = len(detectors["never"].detect([photo])[0])
    detectors["auto"].looks = Looks()
    auto = len(detectors["auto"].detect([photo])[0])
    assert auto >= placed - 1 and auto > never
    looks = detectors["auto"].looks  # what scripts/measure_looks.py reports
    assert (looks.first, looks.closer.ran, looks.closer.found) == (1, 1, 1)
    assert looks.closer.faces == auto - never and looks.coarse.ran == 0
    assert len(detectors["always"].detect([photo])[0]) == auto


def test_an_ordinary_photo_is_not_looked_at_closer(detectors, samples):
    photo = load_image(samples / "obama.jpg")
    detector = detectors["auto"]
    detector.looks = Looks()
    (found,) = detector.detect([photo])
    assert not detector._worth_a_closer_look(photo, found)
    assert detector.looks.first == 1 and detector.looks.closer.ran == 0
    assert [d.box for d in found] == [d.box for d in detectors["never"].detect([photo])[0]]


def test_no_false_face_on_a_photo_without_one(detectors):
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (1500, 2000, 3), dtype=np.uint8), (0, 0), 3)
    assert detectors["always"].detect([texture])[0] == []
