"""Every face of a set of photos, or the library's unknown faces, embedded, ready to be
grouped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from facerec.clustering.algorithms import UNGROUPED
from facerec.clustering.groups import GroupedFace, Grouping, group_faces
from facerec.enrollment import source_key
from facerec.faces.analyzer import FaceAnalyzer
from facerec.faces.reading import analyze_photos
from facerec.library import Library
from facerec.models.model_id import ModelId
from facerec.results import Skip


def cluster_unknown(library: Library, threshold: float, algorithm: str = "chinese-whispers",
                    k: int = 20) -> Grouping:
    """Group the library's faces of nobody enrolled, from their stored embeddings (no
    photo is analysed again)."""
    faces = library.unknown_faces()
    model = library.model or ""
    dim = ModelId.parse(model).dim if model else 0
    embeddings = np.stack([face.embedding for face in faces]) if faces else \
        np.zeros((0, dim), np.float32)
    labels = group_faces(embeddings, threshold, algorithm, k)
    grouped = [GroupedFace(face.path, face.sha256, face.detection.box,
                           face.detection.landmarks, face.detection.score, int(label))
               for face, label in zip(faces, labels)]
    return Grouping(model, algorithm, threshold, grouped, embeddings.astype(np.float32))


def cluster_photos(analyzer: FaceAnalyzer, photos: Sequence[Path], threshold: float,
                   algorithm: str = "chinese-whispers", k: int = 20,
                   progress: Callable[[int], None] | None = None) -> Grouping:
    """Detect and embed every face of ``photos`` and group them (see ``group_faces``).
    Unreadable photos and photos without a face are listed in ``skipped``."""
    faces: list[GroupedFace] = []
    vectors: list[np.ndarray] = []
    skipped: list[Skip] = []
    for path, outcome in analyze_photos(analyzer, ((path, path) for path in photos)):
        if isinstance(outcome, Skip):
            skipped.append(outcome)
        elif not outcome.faces:
            skipped.append(Skip(outcome.label, "no face found"))
        else:
            for face in outcome.faces:
                d = face.detection
                faces.append(GroupedFace(source_key(Path(path)), outcome.sha256, d.box,
                                         d.landmarks, d.score, UNGROUPED))
                vectors.append(face.embedding)
        if progress is not None:
            progress(1)
    embeddings = np.stack(vectors) if vectors else np.zeros((0, analyzer.embedder.dim),
                                                            np.float32)
    labels = group_faces(embeddings, threshold, algorithm, k)
    grouped = [GroupedFace(f.photo, f.sha256, f.box, f.landmarks, f.score, int(label))
               for f, label in zip(faces, labels)]
    return Grouping(analyzer.model_id, algorithm, threshold, grouped, embeddings, skipped)
