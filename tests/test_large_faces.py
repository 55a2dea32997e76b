"""Close portraits: a face larger at the detector's working size than the network sees
well (a phone's close-up) is looked at again on the coarse copy, and embeds as the same
face does at an ordinary size."""

from __future__ import annotations

import cv2

from facerec import load_image
from facerec.types import Face


def central(faces: list[Face], side: int) -> Face:
    return min(faces, key=lambda f: (f.detection.box[0] + f.detection.box[2] - side) ** 2
               + (f.detection.box[1] + f.detection.box[3] - side) ** 2)


def test_close_portraits_embed_as_their_faces_do_at_an_ordinary_size(analyzer, shared_faces):
    portraits = sorted((shared_faces / "lfw").glob("*/*.jpg"))[::180][:50]
    worst = 1.0
    for path in portraits:
        pixels = load_image(path)  # 250 px, the face about 100 px wide
        ordinary = central(analyzer.analyze(pixels), pixels.shape[0])
        close = cv2.resize(pixels, (1280, 1280), interpolation=cv2.INTER_CUBIC)
        faces = analyzer.analyze(close)
        assert faces, f"{path.name}: no face in the close portrait"
        face = central(faces, 1280)
        assert face.detection.width > 300  # beyond what the network sees well
        worst = min(worst, float(face.embedding @ ordinary.embedding))
    assert worst > 0.8
