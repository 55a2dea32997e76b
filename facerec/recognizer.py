"""Recognition: photos in, people out. The one path the CLI, the HTTP service and the
live loop all take from a photo to a person.

A ``Recognizer`` holds the networks (``FaceAnalyzer``) and the storage (``Gallery``). It
enrolls photos (from a folder, named files, or uploads, all through ``triage`` and
``add_photos``), identifies faces, verifies pairs, and applies the one threshold rule:
a threshold given explicitly, else the database's calibrated one, else the model's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from .db.enroll import AnalyzedPhoto, file_digest, plan_folder, plan_named, source_key
from .db.gallery import Gallery
from .db.store import NewFace
from .errors import DatabaseError, FacerecError, ImageError, PersonExists
from .image import ImageInput, load_image
from .matching import decide, rank_people
from .names import name_key, validate_name
from .paths import NOT_UTF8, UnreadableFile, is_text
from .results import EnrollReport, Match, Skip, Threshold, Verification
from .subject import main_face
from .types import Detection, Face
from .verification import verify_images

if TYPE_CHECKING:
    from .analyzer import FaceAnalyzer
    from .db.calibrate import Calibration

log = logging.getLogger(__name__)

ENROLL_BATCH = 16
NEIGHBOURS = 64
MISLABEL_CHECK_LIMIT = 100_000


@dataclass(frozen=True)
class Incoming:
    """A photo offered for enrollment, before it is analysed.

    Attributes:
        person: whose photo it is said to be (a valid name).
        source: the key it is recorded under (``source_key`` or ``upload:<sha256>``).
        label: how reports name it.
        sha256: digest of its bytes.
    """

    person: str
    source: str
    label: str
    sha256: str


class Recognizer:
    """Enroll, identify and verify faces against one database.

    Args:
        gallery: the database's storage.
        analyzer: the networks; made on first use (fetching weights) when None.
    """

    def __init__(self, gallery: Gallery, analyzer: FaceAnalyzer | None = None) -> None:
        self.gallery = gallery
        self._analyzer = analyzer

    @classmethod
    def open(cls, path: str | Path, analyzer: FaceAnalyzer | None = None,
             create: bool = True) -> Recognizer:
        """The recognizer of the database in folder ``path`` (see ``Gallery``)."""
        return cls(Gallery(path, create=create), analyzer)

    def close(self) -> None:
        self.gallery.close()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return self.gallery.path

    @property
    def analyzer(self) -> FaceAnalyzer:
        if self._analyzer is None:
            from .analyzer import FaceAnalyzer
            self._analyzer = FaceAnalyzer(download=True)
        return self._analyzer

    def threshold(self, given: float | None = None) -> Threshold:
        """The threshold rule: ``given``, else the database's calibrated threshold, else
        the model's default."""
        if given is not None:
            return Threshold(float(given), "given")
        calibrated = self.gallery.calibrated_threshold
        if calibrated is not None:
            return Threshold(calibrated, "calibrated")
        return Threshold(self.analyzer.threshold, "model")

    # enroll -------------------------------------------------------------------------------
    def enroll(self, root: Path | None = None, *, name: str | None = None,
               paths: Sequence[Path] = (), strict: bool = False, sync: bool = False,
               move: bool = False, progress: bool = False) -> EnrollReport:
        """Enroll a known-people folder (``root``), or ``paths`` as one person (``name``).

        Unchanged photos are not analysed again; changed ones replace their old face; a
        photo already enrolled for another person is refused unless ``move``; the same
        bytes already enrolled for this person are a duplicate, not stored twice. With
        ``sync``, faces whose files under ``root`` are gone are removed. A photo with no
        face is skipped; with several, the main one is used (``strict``: skipped). Skips
        are remembered and not analysed again while bytes and settings stay the same.
        Every batch is one transaction, so an interrupted run keeps what it finished.
        """
        self.gallery.claim_model(self.analyzer.model_id)
        report = EnrollReport()
        if name is not None:
            name = validate_name(name)
            self.gallery.refuse_case_twin(name)
            plan, refused = plan_named(name, paths)
        elif root is not None:
            plan, refused = plan_folder(root)
        else:
            raise FacerecError("give a folder, or a name with paths")
        report.photos += len(refused)
        report.skipped += [Skip(str(path), reason) for path, reason in refused]
        settings = self._skip_settings(strict)
        incoming = self._offered(plan, self.gallery.store.skips(settings), report)
        todo, moving = self.triage(incoming, move, report)
        if sync and root is not None:
            report.removed = self._remove_missing(root)
        bar = tqdm(total=len(todo), desc="enrolling", unit="photo", disable=not progress)
        for start in range(0, len(todo), ENROLL_BATCH):
            batch = todo[start:start + ENROLL_BATCH]
            self._enroll_files(batch, strict, report, settings, moving)
            bar.update(len(batch))
        bar.close()
        report.suspicious = self.suspicious_faces({item.source for item in todo})
        return report

    def _offered(self, plan: list[tuple[str, Path]], skipped_before: dict[str, tuple[str, str]],
                 report: EnrollReport) -> list[Incoming]:
        """The planned photos that can be read, with their digests; unreadable ones, and
        ones skipped before with the same bytes and settings, go to ``report``."""
        incoming: list[Incoming] = []
        spelling: dict[str, str] = {}  # name_key -> the one spelling this run uses
        for person, path in plan:
            report.photos += 1
            if not is_text(str(path)):
                report.skipped.append(Skip(str(path), NOT_UTF8))
                continue
            try:
                person = self._one_spelling(validate_name(person), spelling)
                item = Incoming(person, source_key(path), str(path), file_digest(path))
            except UnreadableFile as exc:
                report.skipped.append(Skip(str(path), exc.reason))
                continue
            except (OSError, FacerecError) as exc:
                report.skipped.append(Skip(str(path), _reason(exc)))
                continue
            report.people.add(item.person)
            before = skipped_before.get(item.source)
            if before is not None and before[0] == item.sha256:
                report.skipped.append(Skip(item.label, f"{before[1]} (unchanged since the "
                                                       "last run)"))
            else:
                incoming.append(item)
        return incoming

    def _one_spelling(self, person: str, spelling: dict[str, str]) -> str:
        """``person``, unless it differs only by case from an enrolled person or from
        another name of this run (PersonExists naming them)."""
        key = name_key(person)
        if key not in spelling:
            spelling[key] = self.gallery.case_twin(person) or person
        if spelling[key] != person:
            raise PersonExists(f"{person!r} differs only by case from {spelling[key]!r}; "
                               f"rename the folder to {spelling[key]!r} to add to that person")
        return person

    def triage(self, incoming: Sequence[Incoming], move: bool, report: EnrollReport
               ) -> tuple[list[Incoming], dict[str, list[str]]]:
        """Which offered photos need analysing; the others land in ``report``.

        Returns them, and for each (by source) the sources it may take from another
        person when stored (its own, or the same bytes elsewhere), when ``move`` allows
        it; the store refuses any other taking (``Gallery.claim_faces``).
        """
        known = self.gallery.sources(item.source for item in incoming)
        holders = self.gallery.holders(item.sha256 for item in incoming)
        todo: list[Incoming] = []
        moving: dict[str, list[str]] = {}
        first: dict[str, Incoming] = {}
        for item in incoming:
            current = known.get(item.source)
            if current == (item.sha256, item.person):
                report.unchanged += 1
                continue
            taken = [item.source] if current is not None and current[1] != item.person else []
            if taken and not move:
                report.skipped.append(_owned(item, current[1], "this photo"))
                continue
            earlier = first.get(item.sha256)
            if earlier is not None:
                if earlier.person == item.person:
                    report.duplicates.append(Skip(item.label, f"same photo as {earlier.label}"))
                else:
                    report.skipped.append(Skip(item.label, f"same photo as {earlier.label}, "
                                                           f"given for {earlier.person!r}"))
                continue
            others = [(s, p) for s, p in holders.get(item.sha256, []) if s != item.source]
            mine = [s for s, p in others if p == item.person]
            if mine:
                report.duplicates.append(Skip(item.label, f"same photo as {mine[0]}, already "
                                                          f"enrolled for {item.person!r}"))
                continue
            foreign = [(s, p) for s, p in others if p != item.person]
            if foreign and not move:
                report.skipped.append(_owned(item, foreign[0][1], f"the same photo "
                                                                   f"({foreign[0][0]})"))
                continue
            if foreign or taken:
                moving[item.source] = taken + [s for s, _ in foreign]
            first[item.sha256] = item
            todo.append(item)
        return todo, moving

    def add_photos(self, photos: Sequence[AnalyzedPhoto], strict: bool = False,
                   report: EnrollReport | None = None,
                   moving: dict[str, list[str]] | None = None) -> EnrollReport:
        """Store one face of each analysed photo (passed by ``triage``), in one transaction.

        A photo with no face is skipped; with several, the main one is used and the photo
        noted (``strict``: skipped). ``moving`` lists, by source, the other sources to
        remove with it. Counts go into ``report`` (a new one if None), returned.
        """
        report = EnrollReport() if report is None else report
        self.gallery.claim_model(self.analyzer.model_id)
        known = self.gallery.sources(p.source for p in photos)
        new_faces, remove = [], []
        for photo in photos:
            face = _choose_face(photo, strict, report)
            if face is not None:
                new_faces.append(NewFace(photo.person, photo.source, photo.sha256,
                                         face.detection, face_quality(face.detection),
                                         face.embedding))
                remove += (moving or {}).get(photo.source, [])
        if new_faces:
            _, refused = self.gallery.claim_faces(new_faces, remove)
            by_source = {photo.source: photo for photo in photos}
            for conflict in refused:   # stored by another request since triage
                photo = by_source[conflict.source]
                if conflict.owner == photo.person:
                    report.unchanged += 1
                    continue
                what = "this photo" if conflict.held == photo.source else \
                    f"the same photo ({conflict.held})"
                report.skipped.append(_owned(photo, conflict.owner, what))
            lost = {conflict.source for conflict in refused}
            new_faces = [face for face in new_faces if face.source not in lost]
        replaced = sum(face.source in known for face in new_faces)
        report.replaced += replaced
        report.added += len(new_faces) - replaced
        return report

    def _enroll_files(self, batch: list[Incoming], strict: bool, report: EnrollReport,
                      settings: str, moving: dict[str, list[str]]) -> None:
        first_skip = len(report.skipped)
        loaded = []
        for item in batch:
            try:
                loaded.append((item, load_image(item.label)))
            except ImageError as exc:
                report.skipped.append(Skip(item.label, exc.reason))
        analyzed = self.analyzer.analyze_batch([pixels for _, pixels in loaded])
        self.add_photos([AnalyzedPhoto(item.person, item.source, item.label, item.sha256,
                                       faces, (pixels.shape[1], pixels.shape[0]))
                         for (item, pixels), faces in zip(loaded, analyzed)],
                        strict, report, moving)
        by_label = {item.label: item for item in batch}
        self.gallery.store.record_skips(
            [(by_label[s.path].source, by_label[s.path].sha256, s.reason,
              by_label[s.path].person)
             for s in report.skipped[first_skip:] if s.path in by_label], settings)

    def _skip_settings(self, strict: bool) -> str:
        """What a skip depends on besides the photo: a photo skipped under other settings
        (another model, score threshold or size limit, or strictness) is tried again."""
        config = self.analyzer.detector.config
        return (f"{self.analyzer.model_id} min_score={config.score_threshold} "
                f"max_side={config.max_side} strict={strict}")

    def _remove_missing(self, root: Path) -> int:
        prefix = str(root.absolute()) + os.sep
        gone = [s for s in self.gallery.sources() if s.startswith(prefix) and not Path(s).exists()]
        if gone:  # the user deleted these photos: their faces are erased everywhere
            self.gallery.remove_sources(gone)
        return len(gone)

    def suspicious_faces(self, sources: set[str] | None = None) -> list[Skip]:
        """Faces closer to another person's faces than to the rest of their own person's.

        Compares each face's mean similarity to its own person's other faces with its
        mean similarity to each other person's faces. ``sources`` limits the check to
        those photos. Skipped above 100,000 faces.
        """
        if sources is not None and not sources:
            return []
        count = self.gallery.store.count()
        if count > MISLABEL_CHECK_LIMIT or count < 3:
            return []
        records = self.gallery.store.faces()
        names = np.array([r.person for r in records])
        vectors = np.stack([r.embedding for r in records])
        people, owner = np.unique(names, return_inverse=True)
        if len(people) < 2:
            return []
        person_sums = np.zeros((len(people), vectors.shape[1]), np.float32)     # (P, D)
        np.add.at(person_sums, owner, vectors)
        counts = np.bincount(owner, minlength=len(people)).astype(np.float32)
        rows = [i for i, r in enumerate(records) if sources is None or r.source in sources]
        flagged = []
        for start in range(0, len(rows), 1024):
            chunk = rows[start:start + 1024]
            sums = vectors[chunk] @ person_sums.T                               # (C, P)
            for row, row_sums in zip(chunk, sums):
                own = owner[row]
                if counts[own] < 2:
                    continue
                means = row_sums / counts
                means[own] = (row_sums[own] - 1.0) / (counts[own] - 1)
                others = np.where(np.arange(len(people)) == own, -np.inf, means)
                other = int(np.argmax(others))
                if means[other] > means[own]:
                    flagged.append(Skip(records[row].source,
                                        f"enrolled as {records[row].person!r} but closer to "
                                        f"{people[other]!r} ({means[other]:.2f} vs "
                                        f"{means[own]:.2f})"))
        return flagged

    # identify -----------------------------------------------------------------------------
    def identify(self, image: ImageInput, top_k: int = 3,
                 threshold: float | None = None) -> list[Match]:
        """Every face of one image with its person or ``unknown``."""
        return self.identify_batch([image], top_k, threshold)[0]

    def identify_batch(self, images: Sequence[ImageInput], top_k: int = 3,
                       threshold: float | None = None) -> list[list[Match]]:
        """Every face of every image, detected and embedded in batches."""
        faces = self.analyzer.analyze_batch([load_image(i) for i in images])
        flat = [f for per_image in faces for f in per_image]
        matches = iter(self.match([f.embedding for f in flat], [f.detection for f in flat],
                                  top_k, threshold))
        return [[next(matches) for _ in per_image] for per_image in faces]

    def match(self, embeddings: Sequence[np.ndarray], detections: Sequence[Detection],
              top_k: int = 3, threshold: float | None = None) -> list[Match]:
        """Name faces from their (D,) embeddings (e.g. computed elsewhere)."""
        if not len(embeddings):
            return []
        used = self.threshold(threshold).value
        model = self.gallery.model
        if model is not None and model != self.analyzer.model_id:
            raise DatabaseError(f"this database holds {model} embeddings, "
                                f"not {self.analyzer.model_id}")
        sims, ids, person_of = self.gallery.search(np.stack(embeddings),
                                                   max(NEIGHBOURS, top_k * 8))
        return [decide(d, rank_people(s, i, person_of, top_k), used)
                for d, s, i in zip(detections, sims, ids)]

    # verify -------------------------------------------------------------------------------
    def verify(self, first: ImageInput, second: ImageInput,
               threshold: float | None = None) -> Verification:
        """Whether the main faces of two photos are the same person, by the threshold
        rule (the database's calibrated threshold applies)."""
        return verify_images(self.analyzer, first, second, self.threshold(threshold))

    # manage -------------------------------------------------------------------------------
    def calibrate(self, far: float, force: bool = False) -> Calibration:
        """See ``Gallery.calibrate``."""
        return self.gallery.calibrate(far, force)


def _owned(item: Incoming | AnalyzedPhoto, owner: str, what: str) -> Skip:
    return Skip(item.label, f"{what} is already enrolled as {owner!r}; nothing was changed "
                            f"(enroll it with --move, or move=true over HTTP, to make it "
                            f"{item.person!r}'s)", owner)


def _choose_face(photo: AnalyzedPhoto, strict: bool, report: EnrollReport) -> Face | None:
    """The face to enroll from one photo (its main face, see ``facerec.subject``), or None
    with the reason reported."""
    if not photo.faces:
        report.skipped.append(Skip(photo.label, "no face found"))
        return None
    if len(photo.faces) > 1:
        if strict:
            report.skipped.append(Skip(photo.label, f"{len(photo.faces)} faces found (strict)"))
            return None
        report.several_faces.append(
            Skip(photo.label, f"{len(photo.faces)} faces found; the main one was used"))
    return main_face(photo.faces, *photo.size)


def face_quality(detection: Detection) -> float:
    """Detector score times how near the face is to the 112-pixel crop size (0..1)."""
    side = min(detection.width, detection.height)
    return float(detection.score * min(1.0, side / 112.0))


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return str(exc)
