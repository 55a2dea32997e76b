"""JSON shapes of the HTTP API (they also document it at ``/docs``).

Boxes are [x1, y1, x2, y2] in pixels of the uploaded image after EXIF rotation;
landmarks are five [x, y] points (eyes, nose tip, mouth corners); similarities are
cosines in -1..1.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..results import EnrollReport


class Candidate(BaseModel):
    person: str
    similarity: float


class DetectedFace(BaseModel):
    box: list[float] = Field(description="[x1, y1, x2, y2] in pixels")
    landmarks: list[list[float]] = Field(description="five [x, y] points")
    score: float = Field(description="detector confidence, 0..1")


class IdentifiedFace(DetectedFace):
    person: str = Field(description='the best candidate, or "unknown" below the threshold')
    similarity: float = Field(description="the best candidate's similarity; -1 if nobody "
                                          "is enrolled")
    candidates: list[Candidate] = Field(description="the top-k people, best first")


THRESHOLD_SOURCE = Field(description='where the threshold came from: "given" in the '
                                     'request, "calibrated" for the database, or the '
                                     '"model"\'s default')


class IdentifyResult(BaseModel):
    faces: list[IdentifiedFace]
    threshold: float
    threshold_source: str = THRESHOLD_SOURCE
    model: str


class VerifyResult(BaseModel):
    same_person: bool
    similarity: float
    threshold: float
    threshold_source: str = THRESHOLD_SOURCE
    model: str
    faces: list[DetectedFace] = Field(description="the face compared in each photo "
                                                  "(its main face)")


class SkippedPhoto(BaseModel):
    file: str = Field(description="the name the photo was uploaded with")
    reason: str
    owner: str | None = Field(None, description="the person the photo already belongs to, "
                                                "when that is why it was refused")


class EnrollResult(BaseModel):
    person: str
    photos: int = Field(description="photos received")
    added: int
    replaced: int = Field(description="photos moved here from another person (move=true)")
    unchanged: int = Field(description="photos this person already had")
    duplicates: list[SkippedPhoto] = Field(description="photos whose bytes this person "
                                                       "already has under another name")
    skipped: list[SkippedPhoto]
    several_faces: list[SkippedPhoto] = Field(description="photos with more than one face, "
                                                          "of which the main one was enrolled")


def enroll_body(report: EnrollReport) -> dict[str, object]:
    """An EnrollResult's fields from the report (uploads are named by their file name)."""
    def photos(items: list) -> list[dict[str, object]]:
        return [{"file": s.path, **{k: v for k, v in s.to_dict().items() if k != "path"}}
                for s in items]

    return {"photos": report.photos, "added": report.added, "replaced": report.replaced,
            "unchanged": report.unchanged, "duplicates": photos(report.duplicates),
            "skipped": photos(report.skipped), "several_faces": photos(report.several_faces)}


class PersonSummary(BaseModel):
    name: str
    faces: int


class PeopleList(BaseModel):
    people: list[PersonSummary]


class EnrolledFace(BaseModel):
    id: int
    source: str = Field(description='"upload:<sha256>" for uploaded photos, else the file '
                                    "path it was enrolled from")
    box: list[float]
    score: float
    quality: float


class Person(BaseModel):
    name: str
    faces: list[EnrolledFace]


class Rename(BaseModel):
    name: str = Field(description="the new name", min_length=1, max_length=200)


class Erased(BaseModel):
    faces: int
    index: str
    log_truncated: bool
    thumbnails: int
    skip_memory: int
    backups: list[str]
    not_erased: list[str]
    unknown_faces: int


class Removed(BaseModel):
    name: str
    removed_faces: int
    erased: Erased


class RemovedFace(BaseModel):
    id: int
    person: str
    erased: Erased


class Health(BaseModel):
    status: str
    model: str
    device: str
    people: int
    faces: int
    waiting: int = Field(description="images waiting for the networks")
    images: int = Field(description="images through the networks since the start")
    batches: int = Field(description="forward passes they took (images / batches is the "
                                     "mean batch)")


class ErrorBody(BaseModel):
    status: int
    message: str


class Error(BaseModel):
    error: ErrorBody
