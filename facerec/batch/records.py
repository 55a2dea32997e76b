"""The Parquet records of ``facerec batch embed``: one row per face, or one row per photo
that gave none (with the reason), in shards under an output folder.

Columns: ``photo`` (its path or URI), ``sha256`` (of its bytes), ``face`` (index in the
photo, -1 for a photo without a usable face), ``width``/``height`` (pixels after EXIF
rotation), ``box`` (4 floats), ``landmarks`` (10 floats: x, y of five points), ``score``,
``embedding`` (unit float32 vector), ``model`` (the embedding model id) and ``error``
(null, or why the photo gave no face). A shard a killed run left unreadable is skipped
(and its photos done again on the next run).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from facerec.types import Detection

log = logging.getLogger(__name__)

SCHEMA = pa.schema([
    ("photo", pa.string()), ("sha256", pa.string()), ("face", pa.int32()),
    ("width", pa.int32()), ("height", pa.int32()),
    ("box", pa.list_(pa.float32())), ("landmarks", pa.list_(pa.float32())),
    ("score", pa.float32()), ("embedding", pa.list_(pa.float32())),
    ("model", pa.string()), ("error", pa.string()),
])


def error_row(photo: str, sha256: str, reason: str, model: str) -> dict[str, object]:
    """The row of a photo that gave no face."""
    return {"photo": photo, "sha256": sha256, "face": -1, "width": 0, "height": 0,
            "box": [], "landmarks": [], "score": 0.0, "embedding": [], "model": model,
            "error": reason}


def face_row(photo: str, sha256: str, index: int, size: tuple[int, int],
             detection: Detection, embedding: np.ndarray, model: str) -> dict[str, object]:
    return {"photo": photo, "sha256": sha256, "face": index, "width": size[0],
            "height": size[1], "box": [float(v) for v in detection.box],
            "landmarks": [float(v) for point in detection.landmarks for v in point],
            "score": float(detection.score),
            "embedding": np.asarray(embedding, np.float32).tolist(), "model": model,
            "error": None}


def shards(folder: Path) -> list[Path]:
    return sorted(Path(folder).rglob("*.parquet"))


def read_records(folder: Path, columns: list[str] | None = None) -> pa.Table:
    """Every readable shard under ``folder`` as one table (unreadable ones are logged and
    left out)."""
    tables = []
    for shard in shards(folder):
        try:
            tables.append(pq.read_table(shard, columns=columns, schema=SCHEMA))
        except (OSError, pa.ArrowInvalid) as exc:
            log.warning("skipping unreadable shard %s (%s)", shard, exc)
    if not tables:
        return SCHEMA.empty_table() if columns is None else \
            pa.schema([SCHEMA.field(c) for c in columns]).empty_table()
    return pa.concat_tables(tables)


def done_photos(folder: Path) -> set[str]:
    """sha256 of every photo a readable shard already holds (faces or a reason)."""
    return set(read_records(folder, ["sha256"]).column("sha256").to_pylist())


@dataclass(frozen=True)
class FaceRecords:
    """The faces of a records table as arrays (rows with an error left out)."""

    photos: list[str]
    sha256: list[str]
    face: np.ndarray
    sizes: np.ndarray
    detections: list[Detection]
    embeddings: np.ndarray
    models: set[str]

    @classmethod
    def of(cls, table: pa.Table) -> FaceRecords:
        faces = table.filter(pc.is_null(table.column("error")))
        boxes = faces.column("box").to_pylist()
        points = faces.column("landmarks").to_pylist()
        scores = faces.column("score").to_pylist()
        detections = [Detection.of(b, zip(p[0::2], p[1::2]), s)
                      for b, p, s in zip(boxes, points, scores)]
        vectors = faces.column("embedding").to_pylist()
        return cls(faces.column("photo").to_pylist(), faces.column("sha256").to_pylist(),
                   np.array(faces.column("face").to_pylist(), np.int32),
                   np.stack([faces.column("width").to_numpy(),
                             faces.column("height").to_numpy()], axis=1)
                   if len(faces) else np.zeros((0, 2), np.int32),
                   detections,
                   np.array(vectors, np.float32) if vectors else np.zeros((0, 0), np.float32),
                   set(faces.column("model").to_pylist()))
