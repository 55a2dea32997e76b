"""Every face of a set of photos, grouped by person, written to a folder, and named later.

A groups folder holds ``groups.json`` (the settings, and every face with its photo, the
photo's sha256, box, landmarks, score and group, numbered from 1 as the contact sheets and
``name-group`` number them; null is ungrouped), ``embeddings.npy``
(row ``i`` is face ``i``, float32, no pickle) and a contact sheet per group
(``group-001.png``, the group's best faces). ``name_group`` enrolls one group's faces as a
person: each face is stored with its photo as its source, where it was found, so
``facerec reindex`` can find it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from facerec.clustering.algorithms import UNGROUPED, chinese_whispers, connected_components
from facerec.clustering.graph import neighbour_graph
from facerec.errors import FacerecError, ImageError
from facerec.results import Skip
from facerec.types import Detection

ALGORITHMS: dict[str, Callable] = {"chinese-whispers": chinese_whispers,
                                   "components": connected_components}
FIRST_GROUP = 1
"""The number ``groups.json`` gives the first group (files written before it said so
numbered them from 0)."""
SHEET_FACES = 16
SHEET_TILE = 112


@dataclass(frozen=True)
class GroupedFace:
    """One face: its photo (with the photo's sha256), where it is, and its group."""

    photo: str
    sha256: str
    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]
    score: float
    group: int

    @property
    def detection(self) -> Detection:
        return Detection(self.box, self.landmarks, self.score)  # type: ignore[arg-type]


@dataclass
class Grouping:
    """Faces, their (N, D) embeddings, and how they were grouped."""

    model: str
    algorithm: str
    threshold: float
    faces: list[GroupedFace]
    embeddings: np.ndarray
    skipped: list[Skip] = field(default_factory=list)

    def members(self, group: int) -> list[int]:
        return [i for i, face in enumerate(self.faces) if face.group == group]

    @property
    def groups(self) -> list[int]:
        return sorted({face.group for face in self.faces if face.group != UNGROUPED})


def group_faces(embeddings: np.ndarray, threshold: float, algorithm: str = "chinese-whispers",
                k: int = 20) -> np.ndarray:
    """(N,) group of each of the (N, D) unit embeddings (-1: ungrouped), through a mutual
    k-nearest-neighbour graph at ``threshold``."""
    if algorithm not in ALGORITHMS:
        raise FacerecError(f"unknown clustering {algorithm!r}; known: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[algorithm](neighbour_graph(embeddings, k, threshold, mutual=True))


def write_groups(grouping: Grouping, out: Path,
                 crop: Callable[[str, Detection], np.ndarray]) -> list[Path]:
    """Write the groups folder; returns the contact sheets written (largest group first)."""
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "embeddings.npy", grouping.embeddings.astype(np.float32))
    record = {"model": grouping.model, "algorithm": grouping.algorithm,
              "threshold": grouping.threshold,
              "first_group": FIRST_GROUP,
              "faces": [{**asdict(face), "group": _shown(face.group)}
                        for face in grouping.faces],
              "skipped": [skip.to_dict() for skip in grouping.skipped]}
    (out / "groups.json").write_text(json.dumps(record, indent=1))
    sheets = []
    for group in grouping.groups:
        path = out / f"group-{group + FIRST_GROUP:03d}.png"
        contact_sheet([grouping.faces[i] for i in grouping.members(group)], crop).save(path)
        sheets.append(path)
    return sheets


def _shown(group: int) -> int | None:
    """A group as ``groups.json`` numbers it (None: ungrouped)."""
    return None if group == UNGROUPED else group + FIRST_GROUP


def contact_sheet(faces: Sequence[GroupedFace], crop: Callable[[str, Detection], np.ndarray]
                  ) -> Image.Image:
    """The group's best faces (highest detection score) in rows of four."""
    best = sorted(faces, key=lambda face: -face.score)[:SHEET_FACES]
    columns = min(4, len(best))
    rows = -(-len(best) // columns)
    sheet = Image.new("RGB", (columns * SHEET_TILE, rows * SHEET_TILE), "white")
    for index, face in enumerate(best):
        try:
            tile = Image.fromarray(crop(face.photo, face.detection))
        except ImageError:
            continue  # the photo went away since; its tile stays blank
        sheet.paste(tile.resize((SHEET_TILE, SHEET_TILE)),
                    ((index % columns) * SHEET_TILE, (index // columns) * SHEET_TILE))
    return sheet


def read_groups(folder: Path) -> Grouping:
    """A groups folder written by ``write_groups``.

    Raises:
        FacerecError: the folder holds no readable groups.
    """
    try:
        record = json.loads((folder / "groups.json").read_text())
        embeddings = np.load(folder / "embeddings.npy", allow_pickle=False)
        first = int(record.get("first_group", 0))
        faces = [GroupedFace(f["photo"], f["sha256"], tuple(f["box"]),
                             tuple(tuple(p) for p in f["landmarks"]), f["score"],
                             UNGROUPED if f["group"] in (None, UNGROUPED)
                             else int(f["group"]) - first)
                 for f in record["faces"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FacerecError(f"{folder} holds no readable groups ({exc}); make them with "
                           "`facerec cluster PHOTOS --out FOLDER`") from None
    if len(faces) != len(embeddings):
        raise FacerecError(f"{folder}: {len(faces)} faces but {len(embeddings)} embeddings")
    return Grouping(record["model"], record["algorithm"], record["threshold"], faces,
                    embeddings)
