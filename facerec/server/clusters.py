"""Grouping faces for ``POST /v1/clusters``: uploaded photos, or the unknown faces the
service has seen.

The service remembers the most recent faces that ``identify`` called unknown (their
embedding, the upload's name and the box; never the photo), in memory only: a restart
forgets them. Asking for clusters without photos groups those.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..clustering.algorithms import UNGROUPED
from ..clustering.groups import group_faces
from ..types import Detection

UNKNOWN_KEPT = 10_000


@dataclass(frozen=True)
class SeenFace:
    """A face to group: where it came from (an upload's name), where it is, its vector."""

    image: str
    detection: Detection
    embedding: np.ndarray
    seen: float

    def to_dict(self) -> dict[str, object]:
        return {"image": self.image, "box": [round(v, 2) for v in self.detection.box],
                "score": round(self.detection.score, 4),
                "seen": round(self.seen, 3)}


class UnknownFaces:
    """The last ``UNKNOWN_KEPT`` unknown faces, oldest dropped first; thread-safe."""

    def __init__(self, capacity: int = UNKNOWN_KEPT) -> None:
        self._faces: deque[SeenFace] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, image: str, detections: Sequence[Detection],
            embeddings: Sequence[np.ndarray]) -> None:
        now = time.time()
        with self._lock:
            self._faces.extend(SeenFace(image, d, np.asarray(e, np.float32), now)
                               for d, e in zip(detections, embeddings))

    def snapshot(self) -> list[SeenFace]:
        with self._lock:
            return list(self._faces)

    def __len__(self) -> int:
        return len(self._faces)


def cluster_body(faces: Sequence[SeenFace], threshold: float, model: str
                 ) -> dict[str, object]:
    """The JSON answer: groups (largest first, numbered from 1) and the ungrouped faces."""
    labels = group_faces(np.stack([f.embedding for f in faces]), threshold) \
        if faces else np.zeros(0, int)
    groups: dict[int, list[dict[str, object]]] = {}
    ungrouped = []
    for face, label in zip(faces, labels):
        if label == UNGROUPED:
            ungrouped.append(face.to_dict())
        else:
            groups.setdefault(int(label), []).append(face.to_dict())
    return {"groups": [{"group": label + 1, "faces": groups[label]} for label in sorted(groups)],
            "ungrouped": ungrouped, "faces": len(faces), "threshold": threshold,
            "model": model}
