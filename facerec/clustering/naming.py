"""Naming a group: its faces enrolled as one person, each from its own photo."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..db.enroll import file_digest
from ..db.gallery import Gallery
from ..db.store import NewFace
from ..errors import FacerecError
from ..names import validate_name
from ..recognizer import face_quality
from ..results import Skip
from .groups import Grouping


@dataclass
class NamingReport:
    """Faces stored for the person, and faces not stored with the reason."""

    person: str
    added: int = 0
    skipped: list[Skip] = field(default_factory=list)


def name_group(gallery: Gallery, grouping: Grouping, group: int, name: str) -> NamingReport:
    """Enroll the faces of ``group`` (numbered from 1, as on the contact sheets) as
    ``name``. A photo that changed since it was grouped, or that is already another
    person's, is skipped with the reason; of a photo's faces in the group, the best
    detected one is used (a database keeps one face per photo).

    Raises:
        FacerecError: no such group; DatabaseError: the database holds another model.
    """
    person = validate_name(name)
    members = grouping.members(group - 1)
    if not members:
        raise FacerecError(f"no group {group}; the groups are 1 to {len(grouping.groups)}")
    gallery.claim_model(grouping.model)
    report = NamingReport(person)
    best_of_photo: dict[str, int] = {}
    for i in members:
        photo = grouping.faces[i].photo
        if photo not in best_of_photo or \
                grouping.faces[i].score > grouping.faces[best_of_photo[photo]].score:
            best_of_photo[photo] = i
    owners = gallery.sources(best_of_photo)
    faces = []
    for photo, i in sorted(best_of_photo.items()):
        face = grouping.faces[i]
        try:
            current = file_digest(Path(photo))
        except OSError as exc:
            report.skipped.append(Skip(photo, f"cannot read: {exc.strerror or exc}"))
            continue
        if current != face.sha256:
            report.skipped.append(Skip(photo, "changed since it was grouped"))
        elif photo in owners and owners[photo][1] != person:
            report.skipped.append(Skip(photo, "already enrolled for another person",
                                       owners[photo][1]))
        else:
            faces.append(NewFace(person, photo, face.sha256, face.detection,
                                 face_quality(face.detection),
                                 grouping.embeddings[i].astype("float32")))
    report.added = len(gallery.add_faces(faces))
    return report
