"""Which face of an analysed photo is enrolled, and how good it is."""

from __future__ import annotations

from dataclasses import dataclass

from facerec.enrollment.plans import Incoming
from facerec.faces.main_face import main_face
from facerec.faces.quality import poor_face_reason
from facerec.results import EnrollReport, Skip
from facerec.types import Detection, Face


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


def choose_face(photo: AnalyzedPhoto, strict: bool, report: EnrollReport,
                keep_poor: bool = False) -> Face | None:
    """The face to enroll from one photo (its main face, see ``facerec.faces.main_face``), or None
    with the reason reported: no face, several when ``strict``, or a face too small or
    turned to be recognised from (``facerec.faces.quality``) unless ``keep_poor``."""
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
    face = main_face(photo.faces, *photo.size)
    poor = None if keep_poor or face is None else poor_face_reason(face.detection, enroll=True)
    if poor is not None:
        report.skipped.append(Skip(label, f"{poor} (--keep-poor enrolls it anyway)"))
        return None
    return face


def face_quality(detection: Detection) -> float:
    """Detector score times how near the face is to the 112-pixel crop size (0..1)."""
    side = min(detection.width, detection.height)
    return float(detection.score * min(1.0, side / 112.0))
