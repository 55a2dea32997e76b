"""A picture of a crowd costs a bounded amount of work: at most ``max_faces`` faces are
embedded, the largest, and the user is told how many were left out."""

from __future__ import annotations

import argparse
import logging

import cv2
import numpy as np
import pytest

from facerec import FaceAnalyzer, load_image
from facerec.cli.faces import positive_count
from facerec.faces.analyzer import MAX_FACES, largest
from facerec.types import Detection


@pytest.fixture(scope="module")
def analyzer(model_paths):
    return FaceAnalyzer("cpu")


def crowd(samples, rows: int, columns: int, large_rows: int = 0) -> np.ndarray:
    """A 4096x3072 picture of ``rows`` x ``columns`` sample faces over a gradient; the
    faces of the first ``large_rows`` rows fill their cell, the others' half of it."""
    ramp = np.linspace(60, 200, 4096, dtype=np.uint8)
    canvas = np.repeat(np.stack([ramp, ramp[::-1], ramp], -1)[None], 3072, axis=0).copy()
    tile_w, tile_h = 4096 // columns, 3072 // rows
    faces = [load_image(samples / name) for name in ("obama.jpg", "biden.jpg")]
    for row in range(rows):
        for column in range(columns):
            photo = faces[(row + column) % 2]
            scale = min(tile_w / photo.shape[1], tile_h / photo.shape[0]) * 0.95
            scale *= 1 if row < large_rows or not large_rows else 0.5
            tile = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            y, x = row * tile_h, column * tile_w
            canvas[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
    return canvas


def test_a_crowd_gets_at_most_max_faces_faces_and_a_warning(analyzer, samples, caplog):
    photo = crowd(samples, rows=10, columns=14)  # 140 faces
    assert len(analyzer.detect(photo)) > MAX_FACES
    with caplog.at_level(logging.WARNING, logger="facerec.faces.analyzer"):
        faces = analyzer.analyze(photo)
    assert len(faces) == MAX_FACES
    scores = [face.detection.score for face in faces]
    assert scores == sorted(scores, reverse=True)
    assert any("largest analysed" in r.getMessage() and "left out" in r.getMessage()
               for r in caplog.records)


def test_the_largest_faces_are_the_ones_kept(model_paths, samples):
    photo = crowd(samples, rows=4, columns=3, large_rows=1)  # 3 large faces, 9 small
    bounded = FaceAnalyzer("cpu", max_faces=5)
    everyone = bounded.detect(photo)
    assert len(everyone) >= 11
    kept = bounded.analyze(photo)
    assert len(kept) == 5
    smallest_kept = min(face.detection.area for face in kept)
    left_out = [d for d in everyone if all(d.box != f.detection.box for f in kept)]
    assert all(d.area <= smallest_kept for d in left_out)
    assert sum(face.detection.box[3] < 3072 / 4 for face in kept) == 3  # the large row


def test_an_ordinary_photo_is_not_bounded(analyzer, samples, caplog):
    with caplog.at_level(logging.WARNING, logger="facerec.faces.analyzer"):
        assert len(analyzer.analyze(samples / "obama.jpg")) == 1
    assert not caplog.records


def test_largest_keeps_the_given_order():
    def box(side: float, score: float) -> Detection:
        return Detection((0, 0, side, side), ((0, 0),) * 5, score)

    detections = [box(10, 0.99), box(40, 0.95), box(20, 0.9), box(30, 0.85)]
    assert largest(detections, 2) == [detections[1], detections[3]]
    assert largest(detections, 9) == detections


def test_max_faces_below_one_is_refused(model_paths):
    with pytest.raises(ValueError, match="at least 1"):
        FaceAnalyzer("cpu", max_faces=0)


def test_the_max_faces_option_takes_a_count_of_at_least_one():
    assert positive_count("250") == 250
    for text in ("0", "-3", "many"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_count(text)
