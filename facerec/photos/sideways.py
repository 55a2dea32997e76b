"""Photos on their side: a scanned print, or a photo whose EXIF rotation was lost, shows
its faces turned by 90, 180 or 270 degrees, and the detector (trained on upright faces)
finds none. Turning the photo back finds them; their boxes and landmarks are then given
in the photo's own pixels, as every other detection is.

Turns are counterclockwise, as ``numpy.rot90`` makes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facerec.types import Detection

TURNS = (90, 180, 270)
"""The turns tried, counterclockwise."""

TURN_BELOW = 0.9
"""A photo whose best face scores under this is looked at turned too: upright faces in
the sample photos score 0.93-0.95, the same faces on their side or upside down, when
found at all, 0.83-0.88 (and embed so badly that they match nobody)."""


def turn(pixels: np.ndarray, degrees: int) -> np.ndarray:
    """(H, W, C) pixels turned counterclockwise by ``degrees`` (a multiple of 90)."""
    return np.ascontiguousarray(np.rot90(pixels, k=degrees // 90))


def turned_back(detection: Detection, degrees: int, width: int, height: int) -> Detection:
    """A detection found in a ``width`` x ``height`` photo turned counterclockwise by
    ``degrees``, in the coordinates of the photo as it is."""
    def back(x: float, y: float) -> tuple[float, float]:
        if degrees == 90:
            return width - y, x
        if degrees == 180:
            return width - x, height - y
        if degrees == 270:
            return y, height - x
        return x, y

    x1, y1, x2, y2 = detection.box
    corners = [back(x1, y1), back(x2, y2)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    landmarks = tuple(back(x, y) for x, y in detection.landmarks)
    return Detection((min(xs), min(ys), max(xs), max(ys)), landmarks,  # type: ignore[arg-type]
                     detection.score)


def best_score(detections: Sequence[Detection]) -> float:
    """The best detector score among ``detections`` (0 when there are none)."""
    return max((d.score for d in detections), default=0.0)


def needs_turning(detections: Sequence[Detection]) -> bool:
    """Whether a photo with these faces as it is should be looked at turned too."""
    return best_score(detections) < TURN_BELOW


def best_turn(as_it_is: Sequence[Detection], turned: Sequence[Sequence[Detection]]
              ) -> int | None:
    """Which of ``TURNS`` shows the photo upright: the index of the turn whose best face
    scores highest, if higher than the best face as it is; None to keep it as it is."""
    scores = [best_score(found) for found in turned]
    winner = int(np.argmax(scores))
    return winner if scores[winner] > best_score(as_it_is) else None
