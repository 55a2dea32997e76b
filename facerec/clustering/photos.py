"""Every face of a set of photos, embedded, ready to be grouped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..analyzer import FaceAnalyzer
from ..db.enroll import file_digest, source_key
from ..errors import ImageError
from ..image import load_image
from ..results import Skip
from .algorithms import UNGROUPED
from .groups import GroupedFace, Grouping, group_faces

BATCH = 8


def cluster_photos(analyzer: FaceAnalyzer, photos: Sequence[Path], threshold: float,
                   algorithm: str = "chinese-whispers", k: int = 20,
                   progress: Callable[[int], None] | None = None) -> Grouping:
    """Detect and embed every face of ``photos`` and group them (see ``group_faces``).
    Unreadable photos and photos without a face are listed in ``skipped``."""
    faces: list[GroupedFace] = []
    vectors: list[np.ndarray] = []
    skipped: list[Skip] = []
    for start in range(0, len(photos), BATCH):
        chunk = photos[start:start + BATCH]
        pixels, readable = [], []
        for path in chunk:
            try:
                pixels.append(load_image(path))
                readable.append(path)
            except ImageError as exc:
                skipped.append(Skip(str(path), exc.reason))
        for path, found in zip(readable, analyzer.analyze_batch(pixels) if pixels else []):
            if not found:
                skipped.append(Skip(str(path), "no face found"))
                continue
            digest = file_digest(path)
            for face in found:
                d = face.detection
                faces.append(GroupedFace(source_key(Path(path)), digest, d.box,
                                         d.landmarks, d.score, UNGROUPED))
                vectors.append(face.embedding)
        if progress is not None:
            progress(len(chunk))
    embeddings = np.stack(vectors) if vectors else np.zeros((0, analyzer.embedder.dim),
                                                            np.float32)
    labels = group_faces(embeddings, threshold, algorithm, k)
    grouped = [GroupedFace(f.photo, f.sha256, f.box, f.landmarks, f.score, int(label))
               for f, label in zip(faces, labels)]
    return Grouping(analyzer.model_id, algorithm, threshold, grouped, embeddings, skipped)
