"""JSON shapes of the HTTP API, made from the result types' own shapes.

Every answer is a result's ``to_dict`` (or a few keys around one), and its schema is made
here from that ``to_dict``'s TypedDict (``model_of``), so the API documented at ``/docs``
is the command line's JSON by construction. The schemas are closed: a key a ``to_dict``
returns that its shape does not list fails the request loudly instead of being dropped.

Boxes are [x1, y1, x2, y2] in pixels of the uploaded image after EXIF rotation;
landmarks are five [x, y] points (eyes, nose tip, mouth corners); similarities are
cosines in -1..1.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from typing_extensions import NotRequired, TypedDict, get_type_hints, is_typeddict

from facerec.recognition.corrections import CorrectionDict
from facerec.results import (
    CandidateDict,
    EnrollReport,
    EnrollReportDict,
    IdentificationDict,
    LibraryPhotoDict,
    MatchDict,
    SkipDict,
    VerificationDict,
)
from facerec.server.service import HealthDict
from facerec.storage.erasure import ErasureDict
from facerec.types import DetectionDict, closed

CLOSED = ConfigDict(extra="forbid")

DESCRIPTIONS: dict[str, str] = {
    "box": "[x1, y1, x2, y2] in pixels",
    "landmarks": "five [x, y] points",
    "score": "detector confidence, 0..1",
    "MatchDict.person": 'the person named, or "unknown" (status says whether unsure)',
    "MatchDict.status": '"known": named; "unsure": two people nearly as close, no name '
                        '(see candidates); "unknown": nobody enrolled, or a face too small '
                        'or turned to trust (see reason)',
    "MatchDict.reason": "why the face is unsure or unknown",
    "MatchDict.similarity": "the similarity of the person named (else of the best "
                            "candidate): the mean over their two nearest enrolled faces; -1 "
                            "if nobody is enrolled",
    "candidates": "the top-k people, best first",
    "threshold_source": 'where the threshold came from: "given" in the request, '
                        '"calibrated" (stored by hand for the database), "open-set" (set '
                        'for fpir and the people enrolled) or the "model"\'s pair threshold',
    "fpir": "the share of strangers that may be given a name, which set the threshold",
    "enrolled_people": "people enrolled when the threshold was set",
    "enrolled_faces": "faces enrolled when the threshold was set",
    "VerificationDict.faces": "the face compared in each photo (its main face)",
    "SkipDict.path": "the photo: the name it was uploaded with, or its file",
    "owner": "the person the photo already belongs to, when that is why it was refused",
    "EnrollReportDict.people": "the name the photos were given for",
    "EnrollReportDict.photos": "photos received",
    "replaced": "faces stored in place of an older one: changed bytes, or moved here from "
                "another person (move=true)",
    "unchanged": "photos this person already had",
    "EnrollReportDict.removed": "faces removed because their file is gone (CLI --sync; "
                                "0 here)",
    "duplicates": "photos whose bytes this person already has under another name",
    "several_faces": "photos with more than one face, of which the main one was enrolled",
    "turned": "photos on their side or upside down, whose face was found turned upright",
    "suspicious": "faces closer to another person's faces than to their own person's",
    "waiting": "images waiting for the networks",
    "images": "images through the networks since the start",
    "batches": "forward passes they took (images / batches is the mean batch)",
    "LibraryPhotoDict.path": "the photo's file (a photo in several files is listed once "
                             "per file)",
    "taken": "when the photo was taken (EXIF, the camera's local time), if it says",
    "LibraryPhotoDict.faces": "every face of the photo and who it is now",
    "PhotoPageDict.people": "the people asked for",
    "together": '"any": photos of any of them; "all": photos of all of them together',
    "PhotoPageDict.unknown": "photos with a face of nobody enrolled were asked for",
    "total": "photos in all pages",
    "CorrectionDict.face": "which face of the photo, in identify's order from 0",
    "CorrectionDict.person": "the person the face was said not to be (or to be)",
    "said": '"not": the face is not the person; "is": it is them',
    "changed": "false when the database already knew",
    "before": "the face as it was answered before",
    "after": "the face as it is answered now",
}
"""Field descriptions for /docs, by ``Shape.field`` or by field name."""

SCHEMA_NAMES: dict[str, str] = {
    "DetectionDict": "DetectedFace", "CandidateDict": "Candidate",
    "MatchDict": "IdentifiedFace", "IdentificationDict": "IdentifyResult",
    "VerificationDict": "VerifyResult", "SkipDict": "SkippedPhoto",
    "EnrollAnswerDict": "EnrollResult", "ErasureDict": "Erased", "HealthDict": "Health",
    "LibraryPhotoDict": "LibraryPhoto", "PhotoPageDict": "PhotoPage",
    "CorrectionDict": "Correction",
}

_MODELS: dict[type, type[BaseModel]] = {}


def model_of(shape: type) -> type[BaseModel]:
    """The closed pydantic model of a TypedDict shape: its fields, their types (shapes
    inside made into models too), which are required, and their descriptions."""
    if shape in _MODELS:
        return _MODELS[shape]
    fields: dict[str, Any] = {}
    for name, hint in get_type_hints(shape, include_extras=True).items():
        description = DESCRIPTIONS.get(f"{shape.__name__}.{name}", DESCRIPTIONS.get(name))
        if typing.get_origin(hint) is NotRequired:  # a key the dict may leave out
            (inner,) = typing.get_args(hint)
            fields[name] = (_modelled(inner) | None, Field(None, description=description))
        else:
            fields[name] = (_modelled(hint), Field(description=description))
    model = create_model(SCHEMA_NAMES.get(shape.__name__, shape.__name__),
                         __config__=CLOSED, __doc__=shape.__doc__, **fields)
    _MODELS[shape] = model
    return model


def _modelled(hint: Any) -> Any:
    """``hint`` with every TypedDict in it replaced by its model."""
    if is_typeddict(hint):
        return model_of(hint)
    arguments = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (list, tuple) and arguments:
        return origin[tuple(_modelled(a) for a in arguments)]
    return hint


# answers made from the result types ------------------------------------------------------
@closed
class EnrollAnswerDict(EnrollReportDict):
    person: str


@closed
class PhotoPageDict(TypedDict):
    """One page of the library's photos, newest first."""

    people: list[str]
    together: str
    unknown: bool
    total: int
    offset: int
    limit: int
    photos: list[LibraryPhotoDict]


DetectedFace = model_of(DetectionDict)
Candidate = model_of(CandidateDict)
IdentifiedFace = model_of(MatchDict)
IdentifyResult = model_of(IdentificationDict)
VerifyResult = model_of(VerificationDict)
SkippedPhoto = model_of(SkipDict)
EnrollResult = model_of(EnrollAnswerDict)
CorrectionResult = model_of(CorrectionDict)
Erased = model_of(ErasureDict)
HealthResult = model_of(HealthDict)
PhotoPage = model_of(PhotoPageDict)


def enroll_body(person: str, report: EnrollReport) -> EnrollAnswerDict:
    """The answer to an enrollment: the report, and the person it was for."""
    return {"person": person, **report.to_dict()}


# shapes of the HTTP routes alone ---------------------------------------------------------
class Closed(BaseModel):
    model_config = CLOSED


class PersonSummary(Closed):
    name: str
    faces: int


class PeopleList(Closed):
    people: list[PersonSummary]


class EnrolledFace(Closed):
    id: int
    source: str = Field(description='"upload:<sha256>" for uploaded photos, else the file '
                                    "path it was enrolled from")
    box: list[float]
    score: float
    quality: float


class Person(Closed):
    name: str
    faces: list[EnrolledFace]


class Rename(BaseModel):
    name: str = Field(description="the new name", min_length=1, max_length=200)


class Removed(Closed):
    name: str
    removed_faces: int
    erased: Erased  # type: ignore[valid-type]
    sidecars_naming_them: int = Field(description=(
        "XMP sidecars written by export-xmp that still name the person because they "
        "could not be written again (each is in erased.not_erased)"))


class RemovedFace(Closed):
    id: int
    person: str
    erased: Erased  # type: ignore[valid-type]


class ErrorBody(BaseModel):
    status: int
    message: str


class Error(BaseModel):
    error: ErrorBody

