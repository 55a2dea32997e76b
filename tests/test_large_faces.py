"""Close portraits: a face larger at the detector's working size than the network sees
well (a phone's close-up) is looked at again on the coarse copy, and embeds as the same
face does at an ordinary size; in a video's frames it is not."""

from __future__ import annotations

from dataclasses import replace

import cv2
import pytest

from facerec import load_image
from facerec.faces.detector import FaceDetector
from facerec.types import Face


def central(faces: list[Face], side: int) -> Face:
    return min(faces, key=lambda f: (f.detection.box[0] + f.detection.box[2] - side) ** 2
               + (f.detection.box[1] + f.detection.box[3] - side) ** 2)


@pytest.mark.slow
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


def test_a_close_face_in_a_video_frame_takes_no_second_look(analyzer, shared_faces):
    # a camera's close face stays for many frames: one pass each, its box from that pass
    first_pass_only = FaceDetector(analyzer.detector.net, analyzer.detector.device,
                                   replace(analyzer.detector.config, coarse_side=None))
    portraits = sorted((shared_faces / "lfw").glob("*/*.jpg"))[::400][:10]
    seen, changed = 0, 0
    for path in portraits:
        # the face about 330 px wide, well under half the 1280-px frame
        face = cv2.resize(load_image(path), (800, 800), interpolation=cv2.INTER_CUBIC)
        close = cv2.copyMakeBorder(face, 240, 240, 240, 240, cv2.BORDER_CONSTANT,
                                   value=(127, 127, 127))
        first = first_pass_only.detect([close])[0]
        if not first:
            continue  # a frame where the first pass finds nothing is looked at again
        seen += 1
        as_frame = analyzer.detector.detect([close], frames=True)[0]
        assert as_frame == first
        changed += analyzer.detector.detect([close])[0] != as_frame
    assert seen >= 5
    assert changed >= seen // 2  # as photos, the coarse look changes what is found
