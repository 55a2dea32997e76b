"""What recognition answers: the result types, each with one ``to_dict`` and its shape.

The command line prints these dicts as JSON and the HTTP service returns them, its
schemas made from the same shapes (``server.schemas``), so both say the same thing the
same way. Similarities are cosines in -1..1; boxes and landmarks follow
``facerec.types``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from typing_extensions import NotRequired, TypedDict

from facerec.names import UNKNOWN
from facerec.types import Detection, DetectionDict, closed

ThresholdSource = Literal["given", "calibrated", "open-set", "model"]
MatchStatus = Literal["known", "unsure", "unknown"]


@closed
class ThresholdDict(TypedDict):
    threshold: float
    threshold_source: ThresholdSource
    fpir: NotRequired[float]
    enrolled_people: NotRequired[int]
    enrolled_faces: NotRequired[int]


@closed
class CandidateDict(TypedDict):
    person: str
    similarity: float


@closed
class MatchDict(DetectionDict):
    person: str
    status: MatchStatus
    similarity: float
    candidates: list[CandidateDict]
    reason: NotRequired[str]


@closed
class IdentificationDict(ThresholdDict):
    faces: list[MatchDict]
    model: str


@closed
class VerificationDict(ThresholdDict):
    same_person: bool
    similarity: float
    model: str
    faces: list[DetectionDict]


@closed
class SkipDict(TypedDict):
    path: str
    reason: str
    owner: NotRequired[str]


@closed
class EnrollReportDict(TypedDict):
    people: list[str]
    photos: int
    added: int
    replaced: int
    unchanged: int
    removed: int
    duplicates: list[SkipDict]
    skipped: list[SkipDict]
    several_faces: list[SkipDict]
    turned: list[SkipDict]
    suspicious: list[SkipDict]


@dataclass(frozen=True)
class Threshold:
    """The similarity a match must reach, and where it came from.

    Attributes:
        value: the similarity.
        source: ``given`` by the caller; ``calibrated``: stored by hand with
            ``facerec calibrate --set``; ``open-set``: keeps the share ``fpir`` of
            strangers given a name for the ``people`` and ``faces`` enrolled
            (``facerec.open_set``); ``model``: the model's pair threshold (chosen on LFW
            View 1 DevTrain), where the open-set threshold would be lower, or for a pair.
        fpir: the target share of strangers named, where the open-set rule decided.
        people, faces: how many were enrolled when the threshold was set.
    """

    value: float
    source: ThresholdSource
    fpir: float | None = None
    people: int | None = None
    faces: int | None = None

    def to_dict(self) -> ThresholdDict:
        shape: ThresholdDict = {"threshold": self.value, "threshold_source": self.source}
        if self.fpir is not None:
            shape["fpir"] = self.fpir
        if self.people is not None:
            shape["enrolled_people"] = self.people
        if self.faces is not None:
            shape["enrolled_faces"] = self.faces
        return shape

    def describe(self) -> str:
        """The rule in a few words, for people."""
        if self.source == "given":
            return f"threshold {self.value:.3f}, given"
        if self.source == "calibrated":
            return f"threshold {self.value:.3f}, stored with `facerec calibrate --set`"
        enrolled = "" if self.people is None else \
            f" for {self.people} people ({self.faces} faces)"
        if self.source == "open-set":
            return (f"open-set threshold {self.value:.3f}: at most {self.fpir:.2%} of "
                    f"strangers named{enrolled}")
        return (f"threshold {self.value:.3f}, the model's pair threshold"
                + (f" (the open-set threshold for {self.fpir:.2%} of strangers named"
                   f"{enrolled} is lower)" if self.fpir is not None else ""))


@dataclass(frozen=True)
class Candidate:
    """A person and the similarity of their nearest enrolled face."""

    person: str
    similarity: float

    def to_dict(self) -> CandidateDict:
        return {"person": self.person, "similarity": round(self.similarity, 4)}


@dataclass(frozen=True)
class Match:
    """One face of a photo and who it is.

    Attributes:
        detection: where the face is.
        person: the name decided (``facerec.recognition.matching``), else ``"unknown"``.
        similarity: the similarity of the person named, or of the best candidate; -1
            when the database is empty.
        candidates: the top-k people, best first, known or not.
        status: ``known`` (named), ``unsure`` (two people nearly as close: no name, the
            candidates say who) or ``unknown``.
        reason: why the face is ``unsure`` or ``unknown``.
    """

    detection: Detection
    person: str
    similarity: float
    candidates: tuple[Candidate, ...]
    status: MatchStatus = "known"
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.person == UNKNOWN and self.status == "known":
            object.__setattr__(self, "status", "unknown")

    @property
    def known(self) -> bool:
        return self.person != UNKNOWN

    def to_dict(self) -> MatchDict:
        shape: MatchDict = {**self.detection.to_dict(), "person": self.person,
                            "status": self.status, "similarity": round(self.similarity, 4),
                            "candidates": [c.to_dict() for c in self.candidates]}
        if self.reason is not None:
            shape["reason"] = self.reason
        return shape


@dataclass(frozen=True)
class Identification:
    """Every face of one photo with who it is, and the threshold and model that decided.

    Attributes:
        matches: one per face found, best detection first.
        threshold: the threshold used, and where it came from.
        model: the embedding model's id.
    """

    matches: tuple[Match, ...]
    threshold: Threshold
    model: str

    def to_dict(self) -> IdentificationDict:
        return {"faces": [m.to_dict() for m in self.matches], **self.threshold.to_dict(),
                "model": self.model}


@dataclass(frozen=True)
class Verification:
    """The answer for one pair of photos.

    Attributes:
        same_person: similarity >= threshold.
        similarity: cosine similarity of the two faces' embeddings.
        threshold: the threshold used, and where it came from.
        model: the embedding model's id.
        faces: the face compared in each photo (its main face, ``facerec.faces.main_face``).
    """

    same_person: bool
    similarity: float
    threshold: Threshold
    model: str
    faces: tuple[Detection, Detection]

    def to_dict(self) -> VerificationDict:
        return {"same_person": self.same_person, "similarity": round(self.similarity, 4),
                **self.threshold.to_dict(), "model": self.model,
                "faces": [face.to_dict() for face in self.faces]}


@dataclass(frozen=True)
class Skip:
    """A photo that was not enrolled as it was, and why (also used for notes).
    ``owner`` names the person the photo already belongs to, when that is why."""

    path: str
    reason: str
    owner: str | None = None

    def to_dict(self) -> SkipDict:
        return {key: value for key, value in asdict(self).items()  # type: ignore[return-value]
                if value is not None}


@dataclass
class EnrollReport:
    """What an enrollment did. Every photo seen lands in exactly one of added, replaced,
    unchanged, duplicates and skipped; the notes (several_faces, suspicious) come on top.

    Attributes:
        people: the names photos were given for.
        photos: photos seen.
        added: new faces stored.
        replaced: faces stored in place of an older one from the same source (changed
            bytes, or moved from another person when asked to).
        unchanged: photos already enrolled as they are.
        removed: faces removed because their file is gone (``sync``).
        duplicates: photos whose bytes are already enrolled for the same person under
            another name or path; not stored twice.
        skipped: photos not enrolled, with the reason.
        several_faces: photos with several faces, of which the main one was enrolled.
        turned: photos on their side or upside down, whose face was found turned upright.
        suspicious: faces closer to another person's than to their own person's.
    """

    people: set[str] = field(default_factory=set)
    photos: int = 0
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    duplicates: list[Skip] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    several_faces: list[Skip] = field(default_factory=list)
    turned: list[Skip] = field(default_factory=list)
    suspicious: list[Skip] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Faces written by this enrollment."""
        return self.added + self.replaced

    def to_dict(self) -> EnrollReportDict:
        return {"people": sorted(self.people), "photos": self.photos, "added": self.added,
                "replaced": self.replaced, "unchanged": self.unchanged,
                "removed": self.removed,
                "duplicates": [s.to_dict() for s in self.duplicates],
                "skipped": [s.to_dict() for s in self.skipped],
                "several_faces": [s.to_dict() for s in self.several_faces],
                "turned": [s.to_dict() for s in self.turned],
                "suspicious": [s.to_dict() for s in self.suspicious]}


@closed
class LibraryPhotoDict(TypedDict):
    path: str
    sha256: str
    width: int
    height: int
    taken: str | None
    faces: list[MatchDict]


@closed
class ScanReportDict(TypedDict):
    photos: int
    analysed: int
    changed: int
    unchanged: int
    moved: int
    removed: int
    faces: int
    skipped: list[SkipDict]


@dataclass(frozen=True)
class LibraryPhoto:
    """A photo of the library and every face in it, each with who it is now.

    Attributes:
        path: the file (a photo shown by several files is listed once per file).
        sha256: digest of its bytes.
        size: (width, height) in pixels after EXIF rotation; boxes are in these pixels.
        taken: the EXIF date taken (ISO 8601, camera's local time), when it has one.
        faces: its faces; each candidate is the person of the nearest enrolled face.
    """

    path: str
    sha256: str
    size: tuple[int, int]
    taken: str | None
    faces: tuple[Match, ...]

    def people(self) -> set[str]:
        """The known people in the photo."""
        return {face.person for face in self.faces if face.known}

    def to_dict(self) -> LibraryPhotoDict:
        return {"path": self.path, "sha256": self.sha256, "width": self.size[0],
                "height": self.size[1], "taken": self.taken,
                "faces": [face.to_dict() for face in self.faces]}


@dataclass
class ScanReport:
    """What a library scan did. Every photo file seen lands in exactly one of analysed,
    unchanged, moved and skipped.

    Attributes:
        photos: photo files seen.
        analysed: files whose bytes were new to the library, run through the networks.
        changed: of those, files the library had with other bytes before.
        unchanged: files with the size and modification time they had when read.
        moved: files whose bytes the library already had (moved, renamed or copied
            photos): not analysed again.
        removed: files gone from disk, dropped with their faces (unless kept).
        faces: faces found in the analysed files.
        skipped: files that gave no photo, with the reason.
    """

    photos: int = 0
    analysed: int = 0
    changed: int = 0
    unchanged: int = 0
    moved: int = 0
    removed: int = 0
    faces: int = 0
    skipped: list[Skip] = field(default_factory=list)

    def to_dict(self) -> ScanReportDict:
        return {"photos": self.photos, "analysed": self.analysed, "changed": self.changed,
                "unchanged": self.unchanged, "moved": self.moved, "removed": self.removed,
                "faces": self.faces, "skipped": [s.to_dict() for s in self.skipped]}


@closed
class ExportReportDict(TypedDict):
    written: int
    merged: int
    unchanged: int
    skipped: list[SkipDict]


@dataclass
class ExportReport:
    """What an export of sidecars did: ``written`` new sidecars, ``merged`` into existing
    ones, ``unchanged`` ones that already said the same, and the photos ``skipped`` with
    the reason."""

    written: int = 0
    merged: int = 0
    unchanged: int = 0
    skipped: list[Skip] = field(default_factory=list)

    def to_dict(self) -> ExportReportDict:
        return {"written": self.written, "merged": self.merged, "unchanged": self.unchanged,
                "skipped": [s.to_dict() for s in self.skipped]}
