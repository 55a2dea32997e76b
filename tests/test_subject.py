"""The main face of a photo: of the faces at least half as large as the largest, the one
nearest the centre."""

from __future__ import annotations

import numpy as np

from facerec.faces.main_face import main_face
from facerec.types import Detection, Face


def face(x1: float, y1: float, size: float) -> Face:
    box = (x1, y1, x1 + size, y1 + size)
    points = tuple((x1 + size * fx, y1 + size * fy)
                   for fx, fy in ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.8), (0.65, 0.8)))
    return Face(Detection(box, points, 0.9), np.zeros(128, np.float32))


def test_no_face():
    assert main_face([], 250, 250) is None


def test_a_centred_face_beats_a_slightly_larger_one_at_the_edge():
    centred, edge = face(72, 72, 106), face(150, 0, 110)   # LFW-like 250x250 photo
    assert main_face([edge, centred], 250, 250) is centred


def test_a_much_larger_face_wins_anywhere():
    small_centred, large_corner = face(900, 500, 300), face(0, 0, 600)
    assert main_face([small_centred, large_corner], 1920, 1080) is large_corner


def test_of_similar_faces_the_most_central_wins():
    faces = [face(0, 0, 400), face(800, 400, 300), face(1500, 600, 350)]
    assert main_face(faces, 1920, 1080) is faces[1]


def test_the_rule_does_not_depend_on_resolution():
    a, b = face(72, 72, 106), face(150, 0, 110)
    scaled_a, scaled_b = face(288, 288, 424), face(600, 0, 440)
    assert (main_face([a, b], 250, 250) is a) == (main_face([scaled_a, scaled_b], 1000, 1000)
                                                  is scaled_a)
