"""Which face of an analysed photo is enrolled, and how good it is."""

from __future__ import annotations

from dataclasses import dataclass

from ..results import EnrollReport, Skip
from ..subject import main_face
from ..types import Detection, Face
from .plans import Incoming


@dataclass(frozen=True)
class AnalyzedPhoto:
    """One enrollment photo after the networks.

    Attributes:
        item: the photo as it was offered (person, source, label, and the sha256 of the
            bytes that were analysed).
        faces: every face the networks found in it.
        size: the photo's (width, height) in pixels.
    """

    item: Incoming
    faces: list[Face]
    size: tuple[int, int]


def choose_face(photo: AnalyzedPhoto, strict: bool, report: EnrollReport) -> Face | None:
    """The face to enroll from one photo (its main face, see ``facerec.subject``), or None
    with the reason reported: no face, or several when ``strict``."""
    label = photo.item.label
    if not photo.faces:
        report.skipped.append(Skip(label, "no face found"))
        return None
    if len(photo.faces) > 1:
        if strict:
            report.skipped.append(Skip(label, f"{len(photo.faces)} faces found (strict)"))
            return None
        report.several_faces.append(
            Skip(label, f"{len(photo.faces)} faces found; the main one was used"))
    return main_face(photo.faces, *photo.size)


def face_quality(detection: Detection) -> float:
    """Detector score times how near the face is to the 112-pixel crop size (0..1)."""
    side = min(detection.width, detection.height)
    return float(detection.score * min(1.0, side / 112.0))
