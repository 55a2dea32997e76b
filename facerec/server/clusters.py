"""Grouping faces for ``POST /v1/clusters``: uploaded photos, or the unknown faces the
service has seen.

The service remembers the most recent faces that ``identify`` called unknown (their
embedding, the upload's name, the box and a small JPEG crop of the face; never the
photo), in memory only: a restart forgets them, and erasing a person forgets those
that look like them (``forget_like``). Asking for clusters without photos
groups those, each with a number under which its crop is served, so a page can show a
group and enroll its crops as a person.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facerec.clustering.algorithms import UNGROUPED
from facerec.clustering.groups import group_faces
from facerec.types import Detection

UNKNOWN_KEPT = 5_000
"""Faces remembered (with crops of a few kilobytes each: about 25 MB when full)."""


@dataclass(frozen=True)
class SeenFace:
    """A face to group: where it came from (an upload's name), where it is, its vector;
    for a remembered unknown face also its number and crop."""

    image: str
    detection: Detection
    embedding: np.ndarray
    seen: float
    number: int | None = None
    jpeg: bytes | None = None

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {
            "image": self.image, "box": [round(v, 2) for v in self.detection.box],
            "score": round(self.detection.score, 4), "seen": round(self.seen, 3)}
        if self.number is not None:
            body["unknown_face"] = self.number
        return body


class UnknownFaces:
    """The last ``UNKNOWN_KEPT`` unknown faces, oldest dropped first; thread-safe."""

    def __init__(self, capacity: int = UNKNOWN_KEPT) -> None:
        self._faces: deque[SeenFace] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._next = 1

    def add(self, image: str, detections: Sequence[Detection],
            embeddings: Sequence[np.ndarray], crops: Sequence[bytes | None]) -> None:
        now = time.time()
        with self._lock:
            for detection, embedding, jpeg in zip(detections, embeddings, crops):
                self._faces.append(SeenFace(image, detection, np.asarray(embedding,
                                                                          np.float32),
                                            now, self._next, jpeg))
                self._next += 1

    def forget_like(self, embeddings: np.ndarray, threshold: float) -> int:
        """Forget every remembered face that ``identify`` would name as one of the (N, D)
        ``embeddings`` (cosine similarity at least ``threshold``): a person erased leaves
        no crop behind. Returns how many were forgotten."""
        if len(embeddings) == 0:
            return 0
        unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
        with self._lock:
            kept = [f for f in self._faces
                    if float(np.max(unit @ (f.embedding / np.linalg.norm(f.embedding))))
                    < threshold]
            forgotten = len(self._faces) - len(kept)
            self._faces.clear()
            self._faces.extend(kept)
        return forgotten

    def crop(self, number: int) -> bytes | None:
        """The JPEG crop of remembered face ``number`` (None once it is forgotten)."""
        with self._lock:
            return next((f.jpeg for f in self._faces if f.number == number), None)

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
