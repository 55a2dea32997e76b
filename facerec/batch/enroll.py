"""``facerec batch enroll`` and ``identify``: Parquet records to a database, and matched
against one, on one machine and without running a network again."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc

from facerec.batch.records import FaceRecords, read_records
from facerec.enrollment import Enrollment, Incoming, source_key
from facerec.errors import DatabaseError, InvalidName
from facerec.faces.main_face import main_face
from facerec.names import validate_name
from facerec.recognition.matching import gallery_rule, match_faces
from facerec.results import Match, Skip, Threshold
from facerec.storage.gallery import Gallery
from facerec.types import Face

BATCH = 10_000


@dataclass
class BatchEnrollReport:
    added: int = 0
    people: set[str] = field(default_factory=set)
    skipped: list[Skip] = field(default_factory=list)


def person_of(photo: str) -> str:
    """The layout rule: a photo's person is the name of its folder."""
    return Path(photo.split("://", 1)[-1]).parent.name


def enroll_records(gallery: Gallery, folder: Path) -> BatchEnrollReport:
    """Store the main face of every photo in the records under ``folder`` for the person
    its folder names, by the rules of every enrollment (``facerec.enrollment``: a photo
    of another person is refused naming them, the same bytes twice are stored once);
    photos that gave no face are reported with their reason.

    Raises:
        DatabaseError: the records mix models, or the database holds another model.
    """
    table = read_records(folder)
    report = BatchEnrollReport()
    for row in table.filter(pc.less(table.column("face"), 0)).to_pylist():
        report.skipped.append(Skip(row["photo"], row["error"] or "no face"))
    records = FaceRecords.of(table)
    if not records.photos:
        return report
    if len(records.models) != 1:
        raise DatabaseError(f"the records mix models: {', '.join(sorted(records.models))}")
    model = next(iter(records.models))
    gallery.claim_model(model)
    by_photo: dict[str, list[int]] = defaultdict(list)
    for i, photo in enumerate(records.photos):
        by_photo[photo].append(i)
    enrollment = Enrollment(gallery, None)
    pending: list[tuple[Incoming, Face]] = []
    for photo, rows in by_photo.items():
        width, height = records.sizes[rows[0]]
        faces = [Face(records.detections[i], records.embeddings[i]) for i in rows]
        chosen = main_face(faces, int(width), int(height))
        if chosen is None:  # every photo of the records has a face
            continue
        i = rows[faces.index(chosen)]
        try:
            person = validate_name(person_of(photo))
        except InvalidName as exc:
            report.skipped.append(Skip(photo, str(exc)))
            continue
        source = source_key(Path(photo)) if "://" not in photo else photo
        pending.append((Incoming(person, source, photo, records.sha256[i]), chosen))
        report.people.add(person)
        if len(pending) >= BATCH:
            enrollment.add_embedded(pending, model)
            pending = []
    enrollment.add_embedded(pending, model)
    report.added = enrollment.report.added + enrollment.report.replaced
    report.skipped += enrollment.report.skipped
    return report


def identify_records(gallery: Gallery, folder: Path, top_k: int = 1,
                     threshold: float | None = None, fpir: float | None = None
                     ) -> tuple[list[tuple[str, int, Match]], Threshold]:
    """Every face of the records decided against the database by the open-set rule
    (``facerec.recognition.matching``; no network runs): (photo, face index, match) rows, and the
    threshold used."""
    records = FaceRecords.of(read_records(folder))
    model = gallery.model
    if records.photos and model is not None and records.models != {model}:
        raise DatabaseError(f"the records hold {', '.join(sorted(records.models))} "
                            f"embeddings; the database {model}")
    rule, templates = gallery_rule(gallery, threshold, fpir)
    out: list[tuple[str, int, Match]] = []
    for start in range(0, len(records.photos), BATCH):
        chunk = records.embeddings[start:start + BATCH]
        matches = match_faces(chunk, records.detections[start:start + len(chunk)],
                              templates, rule, top_k)
        out += [(records.photos[start + i], int(records.face[start + i]), match)
                for i, match in enumerate(matches)]
    return out, rule.threshold
