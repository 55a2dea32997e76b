"""The frozen results the pipeline returns.

Conventions: pixel coordinates of the image as given (after EXIF rotation), x to the
right and y down; boxes are (x1, y1, x2, y2); landmarks are five (x, y) points in the
order of the ArcFace template: the eye on the image's left, the eye on the image's right,
the nose tip, the mouth corner on the image's left, the mouth corner on the image's right.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]
Point = tuple[float, float]


@dataclass(frozen=True)
class Detection:
    """One detected face.

    Attributes:
        box: (x1, y1, x2, y2) in pixels; may reach past the image edge for a cut face.
        landmarks: five (x, y) points, in the order given in the module docstring.
        score: detector confidence in 0..1.
    """

    box: Box
    landmarks: tuple[Point, Point, Point, Point, Point]
    score: float

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

    def to_dict(self) -> dict[str, object]:
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
