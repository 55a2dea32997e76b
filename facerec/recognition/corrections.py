"""Saying who a face is, or is not: a user's correction of an answer.

``--not NAME`` keeps the face as a *rejection* of that person (``db.templates``): from
then on a face more like it than like any of the person's own faces is not given their
name (``facerec.recognition.matching``), so one correction keeps a look-alike's other photos from
being named too. ``--is NAME`` enrolls the face for that person by the rules of every
enrollment (a photo another person holds is refused, naming them) and forgets any
rejection of them for the same photo. Both are answered with the face decided before and
after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from typing_extensions import TypedDict

from facerec.enrollment import Enrollment, Incoming, face_quality
from facerec.errors import FacerecError
from facerec.faces.main_face import main_face
from facerec.recognition.recognizer import Recognizer
from facerec.results import Match, MatchDict
from facerec.storage.rows import NewFace
from facerec.types import Face, closed

Said = Literal["is", "not"]


@closed
class CorrectionDict(TypedDict):
    face: int
    person: str
    said: Said
    changed: bool
    before: MatchDict
    after: MatchDict


@dataclass(frozen=True)
class Correction:
    """What a correction did.

    Attributes:
        face: which face of the photo (identify's order, best detection first).
        person: the name it was said to be, or not to be.
        said: ``is`` or ``not``.
        changed: False when the database already knew (the same correction twice).
        before, after: the face as decided before and after the correction.
    """

    face: int
    person: str
    said: Said
    changed: bool
    before: Match
    after: Match

    def to_dict(self) -> CorrectionDict:
        return {"face": self.face, "person": self.person, "said": self.said,
                "changed": self.changed, "before": self.before.to_dict(),
                "after": self.after.to_dict()}


def correct(recognizer: Recognizer, faces: list[Face], size: tuple[int, int], *,
            sha256: str, source: str, label: str, face: int | None, person: str,
            said: Said) -> Correction:
    """Correct the answer for face ``face`` (the main face when None) of a photo.

    Args:
        recognizer: the database (and, for ``is``, the model the faces come from).
        faces: the photo's faces in identify's order (best detection first).
        size: the photo's (width, height), for choosing its main face.
        sha256: the digest of the photo's bytes.
        source: how the photo is recorded (its absolute path, ``upload:<sha256>``).
        label: how messages name it.
        face: the face's index in ``faces``.
        person: the name the face is, or is not.
        said: ``is`` or ``not``.

    Raises:
        FacerecError: no face there, or (``is``) the photo belongs to someone else;
            PersonNotFound (``not``) when nobody has that name.
    """
    index, chosen = pick_face(faces, face, label, size)
    before = _decided(recognizer, chosen)
    record = _face_source(source, index, len(faces))
    if said == "not":
        changed = recognizer.gallery.reject(person, NewFace(
            person, record, sha256, chosen.detection, face_quality(chosen.detection),
            chosen.embedding))
    else:
        changed = _enroll(recognizer, chosen, Incoming(person, record, label, sha256))
        changed = recognizer.gallery.forget_rejections(person, sha256) > 0 or changed
    return Correction(index, person, said, changed, before, _decided(recognizer, chosen))


def pick_face(faces: list[Face], face: int | None, label: str, size: tuple[int, int]
              ) -> tuple[int, Face]:
    """Face ``face`` of a photo's ``faces`` (its main face when None), and its index."""
    if not faces:
        raise FacerecError(f"{label}: no face found")
    if face is None:
        subject = main_face(faces, *size)
        index = next(i for i, found in enumerate(faces) if found is subject)
        return index, faces[index]
    if not 0 <= face < len(faces):
        raise FacerecError(f"{label} has {len(faces)} face{'s' if len(faces) > 1 else ''}; "
                           f"give a face from 0 to {len(faces) - 1} (identify's order)")
    return face, faces[face]


def _face_source(source: str, index: int, faces: int) -> str:
    """The record of one face: the photo's own source for a photo of one face, else the
    source with the face's index."""
    return source if faces == 1 else f"{source}#face{index}"


def _decided(recognizer: Recognizer, face: Face) -> Match:
    return recognizer.match([face.embedding], [face.detection])[0]


def _enroll(recognizer: Recognizer, face: Face, item: Incoming) -> bool:
    enrollment = Enrollment(recognizer.gallery, recognizer.analyzer)
    enrollment.add_embedded([(item, face)], recognizer.analyzer.model_id)
    report = enrollment.report
    if report.skipped:
        raise FacerecError(report.skipped[0].reason)
    return report.stored > 0
