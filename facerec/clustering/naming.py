"""Naming a group: its faces enrolled as one person, each from its own photo."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from facerec.clustering.groups import Grouping
from facerec.enrollment import Enrollment, Incoming, file_digest
from facerec.errors import FacerecError
from facerec.names import validate_name
from facerec.results import Skip
from facerec.storage.gallery import Gallery
from facerec.types import Face


@dataclass
class NamingReport:
    """Faces stored for the person, and faces not stored with the reason."""

    person: str
    added: int = 0
    skipped: list[Skip] = field(default_factory=list)


def name_group(gallery: Gallery, grouping: Grouping, group: int, name: str) -> NamingReport:
    """Enroll the faces of ``group`` (numbered from 1, as on the contact sheets) as
    ``name``, by the rules of every enrollment (``facerec.enrollment``): a photo that is
    already another person's is skipped naming them, one already this person's is left
    as it is. A photo that changed since it was grouped is skipped; of a photo's faces in
    the group, the best detected one is used (a database keeps one face per photo).

    Raises:
        FacerecError: no such group; DatabaseError: the database holds another model;
        PersonExists: the name differs only by case from an enrolled person's.
    """
    person = validate_name(name)
    members = grouping.members(group - 1)
    if not members:
        raise FacerecError(f"no group {group}; the groups are 1 to {len(grouping.groups)}")
    gallery.refuse_case_twin(person)
    best_of_photo: dict[str, int] = {}
    for i in members:
        photo = grouping.faces[i].photo
        if photo not in best_of_photo or \
                grouping.faces[i].score > grouping.faces[best_of_photo[photo]].score:
            best_of_photo[photo] = i
    report = NamingReport(person)
    offered = []
    for photo, i in sorted(best_of_photo.items()):
        grouped = grouping.faces[i]
        try:
            current = file_digest(Path(photo))
        except OSError as exc:
            report.skipped.append(Skip(photo, f"cannot read: {exc.strerror or exc}"))
            continue
        if current != grouped.sha256:
            report.skipped.append(Skip(photo, "changed since it was grouped"))
            continue
        offered.append((Incoming(person, photo, photo, grouped.sha256),
                        Face(grouped.detection, grouping.embeddings[i].astype("float32"))))
    enrollment = Enrollment(gallery, None)
    enrollment.add_embedded(offered, grouping.model)
    report.added = enrollment.report.added + enrollment.report.replaced
    report.skipped += enrollment.report.skipped
    return report
