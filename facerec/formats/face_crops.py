"""A face cut out of a photo as a small JPEG (web page thumbnails, MQTT snapshots)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

SIDE = 160
"""Longest side of a face crop, in pixels."""
MARGIN = 0.3
"""Margin around the face's box, as a share of its longer side."""


def face_jpeg(pixels: np.ndarray, box: Sequence[float], side: int = SIDE) -> bytes:
    """A JPEG of the face whose box is (x1, y1, x2, y2) in RGB (H, W, 3) ``pixels``, with
    a margin, at most ``side`` pixels a side."""
    x1, y1, x2, y2 = box
    pad = MARGIN * max(x2 - x1, y2 - y1)
    height, width = pixels.shape[:2]
    left, top = max(0, int(x1 - pad)), max(0, int(y1 - pad))
    right, bottom = min(width, int(x2 + pad)), min(height, int(y2 + pad))
    crop = Image.fromarray(pixels[top:max(bottom, top + 1), left:max(right, left + 1)])
    crop.thumbnail((side, side))
    buffer = io.BytesIO()
    crop.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
