"""The frozen results the pipeline returns.

Conventions: pixel coordinates of the image as given (after EXIF rotation), x to the
right and y down; boxes are (x1, y1, x2, y2); landmarks are five (x, y) points in the
order of the ArcFace template: the eye on the image's left, the eye on the image's right,
the nose tip, the mouth corner on the image's left, the mouth corner on the image's right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from typing_extensions import TypedDict

Box = tuple[float, float, float, float]
Point = tuple[float, float]
Landmarks = tuple[Point, Point, Point, Point, Point]

Shape = TypeVar("Shape")


def closed(shape: type[Shape]) -> type[Shape]:
    """Mark a ``to_dict`` shape (a TypedDict) as closed: the HTTP schemas made from it
    (``server.schemas``) refuse any key it does not list, so a key added to a
    ``to_dict`` and not to its shape fails loudly instead of being dropped."""
    shape.__pydantic_config__ = {"extra": "forbid"}  # type: ignore[attr-defined]
    return shape


@closed
class DetectionDict(TypedDict):
    """A detected face as JSON: box [x1, y1, x2, y2] and five [x, y] landmarks in pixels,
    detector score 0..1."""

    box: list[float]
    landmarks: list[list[float]]
    score: float


@dataclass(frozen=True)
class Detection:
    """One detected face.

    Attributes:
        box: (x1, y1, x2, y2) in pixels; may reach past the image edge for a cut face.
        landmarks: five (x, y) points, in the order given in the module docstring.
        score: detector confidence in 0..1.
    """

    box: Box
    landmarks: Landmarks
    score: float

    @classmethod
    def of(cls, box: Iterable[float], landmarks: Iterable[Iterable[float]],
           score: float) -> Detection:
        """A detection from plain numbers (JSON, database rows, tensors' lists): four box
        values and five (x, y) points, else ``ValueError``."""
        x1, y1, x2, y2 = (float(v) for v in box)
        points = [tuple(float(v) for v in point) for point in landmarks]
        if len(points) != 5 or any(len(point) != 2 for point in points):
            raise ValueError(f"five (x, y) landmarks expected, not {points}")
        a, b, c, d, e = ((x, y) for x, y in points)
        return cls((x1, y1, x2, y2), (a, b, c, d, e), float(score))

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def rescaled(self, x: float, y: float) -> Detection:
        """The same detection with x coordinates multiplied by ``x`` and y by ``y``."""
        x1, y1, x2, y2 = self.box
        return Detection((x1 * x, y1 * y, x2 * x, y2 * y),
                         tuple((px * x, py * y) for px, py in self.landmarks),  # type: ignore[arg-type]
                         self.score)

    def to_dict(self) -> DetectionDict:
        """Plain JSON-ready form."""
        return {"box": [round(v, 2) for v in self.box],
                "landmarks": [[round(x, 2), round(y, 2)] for x, y in self.landmarks],
                "score": round(self.score, 4)}


@dataclass(frozen=True, eq=False)
class Face:
    """A detected face with its identity embedding.

    Attributes:
        detection: where the face is.
        embedding: (D,) float32, unit length (D = 128 for SFace).
    """

    detection: Detection
    embedding: np.ndarray = field(repr=False)

    def rescaled(self, x: float, y: float) -> Face:
        """The same face with its detection's coordinates scaled (see Detection)."""
        return Face(self.detection.rescaled(x, y), self.embedding)
