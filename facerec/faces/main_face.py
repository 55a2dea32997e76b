"""Which face a photo is of, when it shows several.

An enrollment photo, or each photo given to ``verify``, is taken to be of one person. Its
subject is its main face: among the faces at least half as large (in area) as the
largest one, the one whose centre is nearest the photo's centre. A face more than twice
as large as every other wins wherever it is; of faces of similar size, the one the photo
is framed on wins.
"""

from __future__ import annotations

from collections.abc import Sequence

from facerec.types import Face

SIMILAR_AREA = 0.5
"""Faces with at least this share of the largest face's area compete on centrality."""


def main_face(faces: Sequence[Face], width: int, height: int) -> Face | None:
    """The subject among ``faces`` of a ``width`` x ``height`` photo; None if no face."""
    if not faces:
        return None
    largest = max(face.detection.area for face in faces)
    contenders = [face for face in faces if face.detection.area >= SIMILAR_AREA * largest]

    def offset(face: Face) -> float:
        x1, y1, x2, y2 = face.detection.box
        return ((x1 + x2 - width) / 2) ** 2 + ((y1 + y2 - height) / 2) ** 2

    return min(contenders, key=offset)
