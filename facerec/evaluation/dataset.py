"""A folder of labelled photos (``DIR/<person>/*.jpg``), split by person and embedded.

The split is by person with a fixed seed: nobody is in two sets, so a threshold chosen on
the validation set is reported on people it never saw, and a rerun gives the same split.
Each photo is taken to show one person; its main face (``facerec.faces.main_face``) is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facerec.faces.analyzer import FaceAnalyzer
from facerec.faces.main_face import main_face
from facerec.faces.reading import analyze_photos
from facerec.photos.paths import scan_folder
from facerec.results import Skip
from facerec.types import Detection


def labelled_photos(root: Path) -> dict[str, list[Path]]:
    """person -> their photos (sorted) for every ``root/<person>/`` folder with images."""
    people: dict[str, list[Path]] = {}
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        photos, _ = scan_folder(folder)
        if photos:
            people[folder.name] = photos
    return people


@dataclass(frozen=True)
class Split:
    """People of the validation set (the threshold is chosen there) and the test set (the
    figures are reported there); disjoint."""

    validation: tuple[str, ...]
    test: tuple[str, ...]


def split_people(people: Sequence[str], seed: int = 0, validation_share: float = 0.5
                 ) -> Split:
    """Shuffle ``people`` with ``seed`` and cut them into validation and test sets; each
    gets at least one person when there are two or more."""
    order = sorted(people)
    np.random.default_rng(seed).shuffle(order)
    cut = int(round(validation_share * len(order)))
    if len(order) >= 2:
        cut = min(max(cut, 1), len(order) - 1)
    return Split(tuple(sorted(order[:cut])), tuple(sorted(order[cut:])))


@dataclass
class FaceSet:
    """The main face of each labelled photo that has one.

    Attributes:
        labels: (N,) person of each face; ``paths`` (N,) its photo; ``detections`` where.
        embeddings: (N, D) float32 unit embeddings.
        skipped: photos without a usable face, with the reason.
    """

    labels: np.ndarray
    paths: list[Path]
    detections: list[Detection]
    embeddings: np.ndarray
    skipped: list[Skip] = field(default_factory=list)

    def subset(self, people: Sequence[str]) -> FaceSet:
        keep = np.flatnonzero(np.isin(self.labels, list(people)))
        return FaceSet(self.labels[keep], [self.paths[i] for i in keep],
                       [self.detections[i] for i in keep], self.embeddings[keep])


def embed_photos(analyzer: FaceAnalyzer, photos: Sequence[tuple[str, Path]],
                 progress: Callable[[int], None] | None = None) -> FaceSet:
    """Embed the main face of each (person, photo); ``progress(1)`` after each photo."""
    labels: list[str] = []
    paths: list[Path] = []
    detections: list[Detection] = []
    vectors: list[np.ndarray] = []
    skipped: list[Skip] = []
    tagged = (((person, path), path) for person, path in photos)
    for (person, path), outcome in analyze_photos(analyzer, tagged):
        if isinstance(outcome, Skip):
            skipped.append(outcome)
        elif (face := main_face(outcome.faces, *outcome.size)) is None:
            skipped.append(Skip(str(path), "no face found"))
        else:
            labels.append(person)
            paths.append(path)
            detections.append(face.detection)
            vectors.append(face.embedding)
        if progress is not None:
            progress(1)
    dim = analyzer.embedder.dim
    embeddings = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dim),
                                                                               np.float32)
    return FaceSet(np.array(labels, dtype=object), paths, detections, embeddings, skipped)
