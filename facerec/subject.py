"""Which face a photo is of, when it shows several.

An enrollment photo, or each photo given to ``verify``, is taken to be of one person. Its
subject is the largest face, with each face's area counted down by twice the squared
distance of its centre from the photo's centre (both in pixels², so the rule does not
depend on resolution): of two faces of similar size, the one the photo is framed on wins;
a face much larger than the others wins wherever it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from .types import Face

CENTRE_WEIGHT = 2.0


def main_face(faces: Sequence[Face], width: int, height: int) -> Face | None:
    """The subject among ``faces`` of a ``width`` x ``height`` photo; None if no face."""
    if not faces:
        return None

    def score(face: Face) -> float:
        x1, y1, x2, y2 = face.detection.box
        dx, dy = (x1 + x2 - width) / 2, (y1 + y2 - height) / 2
        return face.detection.area - CENTRE_WEIGHT * (dx * dx + dy * dy)

    return max(faces, key=score)
