"""Drawing boxes and names on a copy of a photo."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from facerec.results import Match

KNOWN = (40, 200, 40)
UNSURE = (200, 120, 20)
UNKNOWN = (220, 50, 50)


def draw_matches(image: np.ndarray, matches: Sequence[Match]) -> np.ndarray:
    """A copy of an RGB uint8 (H, W, 3) image with each face's box, name (or ``unsure``,
    ``unknown``) and similarity."""
    out = image.copy()
    thickness = max(1, round(max(image.shape[:2]) / 400))
    scale = max(0.4, max(image.shape[:2]) / 1200)
    for match in matches:
        color = {"known": KNOWN, "unsure": UNSURE}.get(match.status, UNKNOWN)
        x1, y1, x2, y2 = (int(round(v)) for v in match.detection.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thickness)
        label = f"{match.person if match.status != 'unsure' else 'unsure'} " \
                f"{match.similarity:.2f}"
        (width, height), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(0, y1 - height - base - 2)
        cv2.rectangle(out, (x1, top), (x1 + width + 2, top + height + base + 2), color, -1)
        cv2.putText(out, label, (x1 + 1, top + height + 1), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), thickness, cv2.LINE_AA)
    return out
