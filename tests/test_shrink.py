"""Large photos shrunk for detection: close to area averaging, and every coordinate
mapped back to the photo exactly, odd sizes included."""

from __future__ import annotations

import cv2
import numpy as np

from facerec.faces.detector import _shrunk
from facerec.photos.image import load_image


def test_faces_on_a_shrunk_photo_are_those_found_on_area_averaging(analyzer, samples):
    names = ("obama.jpg", "biden.jpg", "obama2.jpg", "obama3.jpg")
    tiles = [cv2.resize(load_image(samples / name), (400, 500), interpolation=cv2.INTER_AREA)
             for name in names]
    group = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
    large = cv2.resize(group, (3001, 3751), interpolation=cv2.INTER_CUBIC)
    found = analyzer.detector.detect([large])[0]
    scale = 1280 / 3751  # the detector's working size
    area = cv2.resize(large, (round(3001 * scale), 1280), interpolation=cv2.INTER_AREA)
    expected = analyzer.detector.detect([area])[0]
    assert len(found) == len(expected) == 4
    for face in found:
        nearest = min(expected, key=lambda e: abs(e.box[0] / scale - face.box[0]))
        assert np.allclose(face.box, np.array(nearest.box) / scale, atol=0.03 * face.width)
        assert abs(face.score - nearest.score) < 0.01


def test_a_point_near_the_far_corner_maps_back_to_where_it_was():
    # 3001 x 2251 halves three times, leaving out an odd column once and an odd row twice;
    # taking the scale from the whole photo would put this point 1-3 pixels off.
    rows, columns = np.mgrid[0:2251, 0:3001]
    centre = (2940.0, 2190.0)
    blob = np.exp(-((columns - centre[0]) ** 2 + (rows - centre[1]) ** 2) / (2 * 20.0 ** 2))
    photo = np.repeat((blob * 255).astype(np.uint8)[..., None], 3, axis=2)
    shrunk, (scale_x, scale_y) = _shrunk(photo, (320, 240))
    weight = shrunk[..., 0].astype(float)
    found_y, found_x = (np.indices(weight.shape) * weight).reshape(2, -1).sum(1) / weight.sum()
    assert abs((found_x + 0.5) / scale_x - 0.5 - centre[0]) < 1.0
    assert abs((found_y + 0.5) / scale_y - 0.5 - centre[1]) < 1.0
