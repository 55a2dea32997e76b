"""Photos on their side: the geometry of turning back, the faces found turned upright, and
enrollment and identify on photos stored sideways or upside down."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facerec import load_image
from facerec.enrollment import Enrollment
from facerec.photos.sideways import turn, turned_back
from facerec.recognition.recognizer import Recognizer
from facerec.storage.gallery import Gallery
from facerec.types import Detection


def forward(point: tuple[float, float], degrees: int, width: int, height: int
            ) -> tuple[float, float]:
    """Where a point of a ``width`` x ``height`` photo lands in it turned by ``degrees``."""
    x, y = point
    return {0: (x, y), 90: (y, width - x), 180: (width - x, height - y),
            270: (height - y, x)}[degrees]


def iou(a, b) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_point_found_turned_lands_where_it_was(degrees):
    width, height, x, y = 7, 5, 2, 1
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[y, x] = 255
    view = turn(pixels, degrees)
    ty, tx = (int(v) for v in np.argwhere(view[:, :, 0])[0])
    found = Detection((tx, ty, tx + 1, ty + 1), ((tx + 0.5, ty + 0.5),) * 5, 0.9)
    back = turned_back(found, degrees, width, height)
    assert back.box == (x, y, x + 1, y + 1) and back.landmarks[0] == (x + 0.5, y + 0.5)
    assert forward((x + 0.5, y + 0.5), degrees, width, height) == (tx + 0.5, ty + 0.5)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_face_on_its_side_is_found_upright(analyzer, samples, degrees):
    upright = load_image(samples / "biden.jpg")
    (expected,) = analyzer.analyze(upright)
    height, width = upright.shape[:2]
    stored = turn(upright, degrees)             # the photo as a scanner or a camera left it
    faces, turned = analyzer.analyze_upright(stored)
    assert turned == (360 - degrees) % 360 and len(faces) == 1
    assert float(np.dot(faces[0].embedding, expected.embedding)) > 0.98
    corners = [forward(p, degrees, width, height) for p in (expected.detection.box[:2],
                                                            expected.detection.box[2:])]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    assert iou(faces[0].detection.box, (min(xs), min(ys), max(xs), max(ys))) > 0.9


def test_an_upright_photo_is_left_as_it_is(analyzer, samples):
    faces = analyzer.analyze(samples / "obama.jpg")
    assert analyzer.analyze_upright(samples / "obama.jpg", faces) == (faces, 0)


def test_enroll_and_identify_photos_on_their_side(analyzer, samples, tmp_path):
    known = tmp_path / "known"
    for person, photo, degrees in (("obama", "obama.jpg", 90), ("biden", "biden.jpg", 180)):
        (known / person).mkdir(parents=True)
        Image.fromarray(turn(load_image(samples / photo), degrees)).save(
            known / person / photo)
    with Gallery(tmp_path / "db") as gallery:
        report = Enrollment(gallery, analyzer).folder(known)
        assert report.added == 2 and not report.skipped
        assert sorted(note.path.rsplit("/", 1)[-1] for note in report.turned) == \
            ["biden.jpg", "obama.jpg"]
        assert "upside down" in next(n.reason for n in report.turned if "biden" in n.path)
        recognizer = Recognizer(gallery, analyzer)
        probe = turn(load_image(samples / "obama3.jpg"), 270)
        (match,) = recognizer.identify(probe, upright=True)
        assert match.person == "obama"
        assert all(m.person != "obama" for m in recognizer.identify(probe))
