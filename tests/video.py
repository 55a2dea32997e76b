"""Making short real videos from photos: faces that move and change size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facerec import FaceAnalyzer, load_image


def face_patch(analyzer: FaceAnalyzer, photo: Path, margin: float = 0.6) -> np.ndarray:
    """The photo's largest face with a margin around it, RGB. The face is found as the
    live loop finds faces in frames (``frames=True``), so a clip made of patches does not
    change with the rules for still photos."""
    image = load_image(photo)
    face = max(analyzer.detector.detect([image], frames=True)[0], key=lambda d: d.area)
    x1, y1, x2, y2 = face.box
    pad_x, pad_y = (x2 - x1) * margin, (y2 - y1) * margin
    top, bottom = int(max(0, y1 - pad_y)), int(min(image.shape[0], y2 + pad_y))
    left, right = int(max(0, x1 - pad_x)), int(min(image.shape[1], x2 + pad_x))
    return image[top:bottom, left:right]


def write_video(path: Path, actors: list[tuple[np.ndarray, int, int]], frames: int,
                fps: float = 15.0, size: tuple[int, int] = (640, 480),
                codec: str = "MJPG") -> Path:
    """Each actor (patch, first frame, last frame) slides right and grows while on screen."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
    for index in range(frames):
        canvas = np.full((height, width, 3), 200, np.uint8)
        for slot, (patch, start, end) in enumerate(actors):
            if not start <= index <= end:
                continue
            progress = (index - start) / max(1, end - start)
            side = int(130 + 50 * progress)
            scaled = cv2.resize(patch, (side, int(side * patch.shape[0] / patch.shape[1])))
            scaled = scaled[: height - 20]
            x = int(10 + slot * 200 + 30 * progress)
            y = 20 + slot * 40
            h, w = scaled.shape[:2]
            w = min(w, width - x)
            canvas[y:y + h, x:x + w] = scaled[:, :w]
        writer.write(np.ascontiguousarray(canvas[:, :, ::-1]))
    writer.release()
    return path


def comings_and_goings(analyzer: FaceAnalyzer, faces: Path, path: Path, frames: int,
                       fps: float) -> Path:
    """The benchmarks' clip from ``faces`` (``../shared/faces``): Obama all along, Biden
    in the second quarter, Rose Leslie in the second half."""
    gallery = faces / "gallery"
    actors = [
        (face_patch(analyzer, faces / "probes" / "obama1.jpg"), 0, frames - 1),
        (face_patch(analyzer, next((gallery / "biden").glob("*.jpg"))),
         frames // 4, frames // 2),
        (face_patch(analyzer, next((gallery / "rose_leslie").glob("*.jpg"))),
         frames // 2, frames - 1),
    ]
    return write_video(path, actors, frames, fps=fps)
