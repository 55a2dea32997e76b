"""Whether a face can be trusted: its size and how far the head turns.

Measured by ``scripts/evaluate_face_quality.py`` on LFW (docs/benchmarks.md). As a face
shrinks, its own person's photos stop passing the thresholds (SFace: 98% of them pass
the one-in-10,000 impostor threshold at full size, 78% at 16 pixels, 64% at 14, 41% at
12), while strangers do not pass more often; as the head turns, strangers pass more often
(up to twice the nominal rate half turned) and, past ``MAX_ENROLL_TURN``, the person's own
photos pass less often. So a face under ``MIN_FACE_SIDE``, or seen from the side past
``MAX_TURN``, is answered ``unknown`` with the reason rather than a guess; enrollment,
whose faces every later answer is measured against, asks for more: ``MIN_ENROLL_SIDE``
and ``MAX_ENROLL_TURN`` (``--keep-poor`` overrides).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from facerec.types import Detection

MIN_FACE_SIDE = 14.0
"""The shorter side of a face box, in the photo's pixels, under which fewer than half of
a person's photos are recognised: such a face is answered ``unknown``."""

MIN_ENROLL_SIDE = 24.0
"""The smallest face enrolled: from here up a face is recognised about as well as at full
size (SFace: 94% against 98% at the one-in-10,000 threshold)."""

MAX_TURN = 1.0
"""How far the nose may sit off the line through the middle of the eyes and of the mouth,
in eye distances, before a face is answered ``unknown``: a face seen nearly from the side,
whose five landmarks are themselves guesses (0 frontal, about 0.5 half turned)."""

MAX_ENROLL_TURN = 0.6
"""The most turned face enrolled: past it SFace recognises the person's other photos 95%
of the time rather than 99%, and strangers pass up to 2.3 times as often (39 of LFW's
9,337 faces are past it)."""


def turn_of(landmarks: Sequence[Sequence[float]]) -> float:
    """How far the head turns: the nose tip's distance from the line through the middle
    of the eyes and of the mouth, in eye distances (five (x, y) landmarks in
    ``facerec.types`` order); infinite for points that make no face."""
    (lx, ly), (rx, ry), (nx, ny), (ax, ay), (bx, by) = [
        (float(x), float(y)) for x, y in landmarks]
    eyes = math.hypot(rx - lx, ry - ly)
    top = ((lx + rx) / 2, (ly + ry) / 2)
    axis = ((ax + bx) / 2 - top[0], (ay + by) / 2 - top[1])
    length = math.hypot(*axis)
    if eyes <= 0 or length <= 0:
        return math.inf
    off = abs(axis[0] * (ny - top[1]) - axis[1] * (nx - top[0])) / length
    return off / eyes


def poor_face_reason(detection: Detection, enroll: bool = False) -> str | None:
    """Why a face cannot be trusted to be recognised (``enroll``: to be enrolled), or
    None when it can."""
    least, most = (MIN_ENROLL_SIDE, MAX_ENROLL_TURN) if enroll else (MIN_FACE_SIDE, MAX_TURN)
    side = min(detection.width, detection.height)
    if side < least:
        return f"face too small to recognise ({side:.0f} px, needs {least:.0f})"
    turn = turn_of(detection.landmarks)
    if turn > most:
        return f"face turned too far to recognise (turn {turn:.2f}, at most {most:.2f})"
    return None
