"""Moving a database to another embedding model: every face embedded again from its photo.

The new faces go into a new SQLite file beside the old one (``faces.sqlite.reindex``).
Each face's photo must still be there with the same bytes (its sha256 is checked), and the
face is found again where it was (the detection overlapping the stored box best). Only
when every face was embedded again (or ``drop_missing`` allows leaving out the ones that
could not be) is the database switched: the old file is kept as a hard-linked backup
(``faces.sqlite.<old model>.bak``), the index cache is deleted, and the new file is
renamed over the old one, so a process killed at any moment leaves either the old
database or the new one, each whole. The calibrated threshold belonged to the old model
and is not carried over.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from facerec.errors import DatabaseError
from facerec.results import Skip
from facerec.storage.gallery import Gallery
from facerec.storage.store import FaceRecord, FaceStore, NewFace
from facerec.types import Detection

if TYPE_CHECKING:
    from facerec.faces.analyzer import FaceAnalyzer

BATCH = 16
MIN_OVERLAP = 0.3


@dataclass
class ReindexReport:
    """What a reindex did.

    Attributes:
        model: the model the database holds now; previous: the one it held before.
        faces: faces in the old database; embedded: faces embedded again.
        missing: faces whose photo is gone, changed or shows the face no more.
        switched: whether the database now uses the new model.
        backup: the old database file, kept when switched.
    """

    model: str
    previous: str
    faces: int = 0
    embedded: int = 0
    missing: list[Skip] = field(default_factory=list)
    switched: bool = False
    backup: Path | None = None


def reindex(folder: Path, analyzer: FaceAnalyzer, drop_missing: bool = False,
            progress: bool = False) -> ReindexReport:
    """Embed every face of the database in ``folder`` again with ``analyzer``'s model."""
    sqlite_file = folder / "faces.sqlite"
    with Gallery(folder, create=False) as old:
        previous = old.model or ""
        records = old.all_faces()
    report = ReindexReport(analyzer.model_id, previous, faces=len(records))
    if previous == analyzer.model_id:
        raise DatabaseError(f"the database at {folder} already holds {previous} embeddings")
    staging = folder / "faces.sqlite.reindex"
    _remove_sqlite(staging)
    try:
        new = FaceStore(staging, create=True)
        try:
            new.claim_model(analyzer.model_id)
            bar = tqdm(total=len(records), desc="reindexing", unit="face", disable=not progress)
            for batch in _batches(records):
                faces = _embed_again(batch, analyzer, report)
                new.add_faces(faces)
                report.embedded += len(faces)
                bar.update(len(batch))
            bar.close()
        finally:
            new.close()
        if report.missing and not drop_missing:
            return report
        report.backup = folder / f"faces.sqlite.{_safe(previous)}.bak"
        _switch(sqlite_file, staging, report.backup)
        report.switched = True
        return report
    finally:
        _remove_sqlite(staging)


def _batches(records: list[FaceRecord]) -> Iterator[list[FaceRecord]]:
    for start in range(0, len(records), BATCH):
        yield records[start:start + BATCH]


def _embed_again(batch: list[FaceRecord], analyzer: FaceAnalyzer,
                 report: ReindexReport) -> list[NewFace]:
    from facerec.faces.reading import analyze_photos

    on_disk = []
    for record in batch:
        if record.source.startswith("upload:") or not Path(record.source).is_file():
            report.missing.append(Skip(record.source, "the photo is not on disk (re-enroll it)",
                                       record.person))
        else:
            on_disk.append((record, Path(record.source)))
    faces = []
    for record, outcome in analyze_photos(analyzer, on_disk, upright=True):
        if isinstance(outcome, Skip):
            reason = f"the photo cannot be read: {outcome.reason}"
        elif outcome.sha256 != record.sha256:
            reason = "the photo changed since it was enrolled"
        else:
            best = max(outcome.faces, key=lambda f: _iou(f.detection, record.detection),
                       default=None)
            if best is not None and _iou(best.detection, record.detection) >= MIN_OVERLAP:
                faces.append(NewFace(record.person, record.source, record.sha256,
                                     best.detection, record.quality, best.embedding))
                continue
            reason = "the enrolled face is not found again"
        report.missing.append(Skip(record.source, reason, record.person))
    return faces


def _switch(sqlite_file: Path, staging: Path, backup: Path) -> None:
    """Keep the old file as ``backup`` and put the new one in its place, atomically."""
    conn = sqlite3.connect(sqlite_file)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    backup.unlink(missing_ok=True)
    os.link(sqlite_file, backup)
    for cache in ("faces.index", "faces.json"):
        (sqlite_file.parent / cache).unlink(missing_ok=True)
    _remove_sidecars(sqlite_file)
    os.replace(staging, sqlite_file)


def _remove_sqlite(path: Path) -> None:
    path.unlink(missing_ok=True)
    _remove_sidecars(path)


def _remove_sidecars(path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _iou(a: Detection, b: Detection) -> float:
    x1, y1 = max(a.box[0], b.box[0]), max(a.box[1], b.box[1])
    x2, y2 = min(a.box[2], b.box[2]), min(a.box[3], b.box[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name) or "unknown-model"
