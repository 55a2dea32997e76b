"""One enrollment: photos offered for people, triaged, analysed, and stored.

Folders and named files run the whole way through ``Enrollment.folder`` and ``named``.
The HTTP service offers uploads through ``triage`` and ``store`` around its own analysis
(its images share forward passes with other requests), and faces already embedded (a
named group, batch records) go through ``add_embedded``. Whatever the way in, the same rules
decide and the store settles ownership inside its write (``Gallery.claim_faces``), so
two enrollments racing for one photo never both succeed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from facerec.enrollment.enrolled_face import AnalyzedPhoto, choose_face, face_quality
from facerec.enrollment.mislabels import suspicious_faces
from facerec.enrollment.plans import (
    Incoming,
    Plan,
    file_digest,
    plan_folder,
    plan_named,
    source_key,
)
from facerec.enrollment.triage import owned, triage
from facerec.errors import FacerecError, PersonExists
from facerec.faces.reading import analyze_photos
from facerec.names import name_key, validate_name
from facerec.photos.paths import NOT_UTF8, UnreadableFile, is_text
from facerec.results import EnrollReport, Skip
from facerec.storage.gallery import Gallery
from facerec.storage.rows import NewFace
from facerec.types import Face

if TYPE_CHECKING:
    from facerec.faces.analyzer import FaceAnalyzer

ENROLL_BATCH = 16
"""Photos stored per transaction: an interrupted run keeps every batch it finished."""

CHANGED_WHILE_READ = "the photo changed while it was being enrolled; enroll it again"


class Enrollment:
    """Photos enrolled into one gallery under one set of rules; ``report`` says what
    happened.

    Args:
        gallery: where the faces go.
        analyzer: the networks (run by ``folder`` and ``named``; its model is the one
            the gallery must hold); None where faces come embedded (``store_faces``).
        strict: skip a photo with several faces instead of enrolling its main one.
        move: a photo already enrolled for another person becomes the offered person's.
        keep_poor: enroll faces too small or turned to be recognised from
            (``facerec.faces.quality``) instead of skipping them with the reason.
    """

    def __init__(self, gallery: Gallery, analyzer: FaceAnalyzer | None, *,
                 strict: bool = False, move: bool = False, keep_poor: bool = False) -> None:
        self.gallery = gallery
        self.analyzer = analyzer
        self.strict = strict
        self.move = move
        self.keep_poor = keep_poor
        self.report = EnrollReport()
        self._moving: dict[str, list[str]] = {}
        self._spelling: dict[str, str] = {}  # name_key -> the one spelling this run uses

    # whole runs ---------------------------------------------------------------------------
    def folder(self, root: Path, *, sync: bool = False, progress: bool = False
               ) -> EnrollReport:
        """Enroll a known-people folder (see ``plans.plan_folder``); with ``sync``, faces
        whose files under ``root`` are gone are erased."""
        return self._files(plan_folder(root), root if sync else None, progress)

    def named(self, name: str, paths: Sequence[Path], *, progress: bool = False
              ) -> EnrollReport:
        """Enroll every photo among ``paths`` (files or folders) as person ``name``."""
        name = validate_name(name)
        self.gallery.refuse_case_twin(name)
        return self._files(plan_named(name, paths), None, progress)

    # the steps ----------------------------------------------------------------------------
    def triage(self, incoming: Sequence[Incoming]) -> list[Incoming]:
        """The offered photos that need the networks (see ``triage.triage``); the others
        land in ``report``."""
        known = self.gallery.sources(item.source for item in incoming)
        holders = self.gallery.holders(item.sha256 for item in incoming)
        todo, moving = triage(incoming, known, holders, self.move, self.report)
        self._moving.update(moving)
        return todo

    def store(self, photos: Sequence[AnalyzedPhoto]) -> None:
        """Store the main face of each analysed photo (passed by ``triage``) in one
        transaction; a photo with no face, or several when ``strict``, is skipped."""
        chosen = [(photo.item, face) for photo in photos
                  if (face := choose_face(photo, self.strict, self.report,
                                          self.keep_poor)) is not None]
        self.store_faces(chosen, self._networks.model_id)

    def add_embedded(self, offered: Sequence[tuple[Incoming, Face]], model_id: str) -> None:
        """Triage photos whose face was chosen and embedded elsewhere (a named group,
        batch records) and store those that pass, as ``triage`` and ``store_faces``."""
        face_of = {item.source: face for item, face in offered}
        todo = self.triage([item for item, _ in offered])
        self.store_faces([(item, face_of[item.source]) for item in todo], model_id)

    def store_faces(self, chosen: Sequence[tuple[Incoming, Face]], model_id: str) -> None:
        """Store one chosen face per photo (passed by ``triage``) in one transaction.
        A photo that another enrollment gave to someone else since triage is refused
        naming them; one it gave to the same person counts as unchanged."""
        self.gallery.claim_model(model_id)
        if not chosen:
            return
        known = self.gallery.sources(item.source for item, _ in chosen)
        new_faces, remove = [], []
        for item, face in chosen:
            new_faces.append(NewFace(item.person, item.source, item.sha256, face.detection,
                                     face_quality(face.detection), face.embedding))
            remove += self._moving.get(item.source, [])
        _, refused = self.gallery.claim_faces(new_faces, remove)
        by_source = {item.source: item for item, _ in chosen}
        for conflict in refused:
            item = by_source[conflict.source]
            if conflict.owner == item.person:
                self.report.unchanged += 1
                continue
            what = "this photo" if conflict.held == item.source else \
                f"the same photo ({conflict.held})"
            self.report.skipped.append(owned(item.label, item.person, conflict.owner, what))
        lost = {conflict.source for conflict in refused}
        stored = [face for face in new_faces if face.source not in lost]
        replaced = sum(face.source in known for face in stored)
        self.report.replaced += replaced
        self.report.added += len(stored) - replaced

    # files --------------------------------------------------------------------------------
    @property
    def _networks(self) -> FaceAnalyzer:
        if self.analyzer is None:
            raise FacerecError("this enrollment was made without networks")
        return self.analyzer

    def _files(self, plan: Plan, sync_root: Path | None, progress: bool) -> EnrollReport:
        self.gallery.claim_model(self._networks.model_id)
        pairs, refused = plan
        self.report.photos += len(refused)
        self.report.skipped += [Skip(str(path), reason) for path, reason in refused]
        settings = self._skip_settings()
        todo = self.triage(self._offer_files(pairs, self.gallery.skips(settings)))
        if sync_root is not None:
            self.report.removed = remove_missing(self.gallery, sync_root)
        bar = tqdm(total=len(todo), desc="enrolling", unit="photo", disable=not progress)
        for start in range(0, len(todo), ENROLL_BATCH):
            batch = todo[start:start + ENROLL_BATCH]
            self._analyze_and_store(batch, settings)
            bar.update(len(batch))
        bar.close()
        self.report.suspicious = suspicious_faces(self.gallery,
                                                  {item.source for item in todo})
        return self.report

    def _offer_files(self, plan: list[tuple[str, Path]],
                     skipped_before: dict[str, tuple[str, str]]) -> list[Incoming]:
        """The planned photos that can be read, with their digests; unreadable ones, and
        ones skipped before with the same bytes and settings, go to ``report``."""
        incoming: list[Incoming] = []
        for person, path in plan:
            self.report.photos += 1
            if not is_text(str(path)):
                self.report.skipped.append(Skip(str(path), NOT_UTF8))
                continue
            try:
                person = self._one_spelling(validate_name(person))
                item = Incoming(person, source_key(path), str(path), file_digest(path))
            except UnreadableFile as exc:
                self.report.skipped.append(Skip(str(path), exc.reason))
                continue
            except (OSError, FacerecError) as exc:
                self.report.skipped.append(Skip(str(path), _reason(exc)))
                continue
            self.report.people.add(item.person)
            before = skipped_before.get(item.source)
            if before is not None and before[0] == item.sha256:
                self.report.skipped.append(Skip(item.label, f"{before[1]} (unchanged since "
                                                            "the last run)"))
            else:
                incoming.append(item)
        return incoming

    def _one_spelling(self, person: str) -> str:
        """``person``, unless it differs only by case from an enrolled person or from
        another name of this run (PersonExists naming them)."""
        key = name_key(person)
        if key not in self._spelling:
            self._spelling[key] = self.gallery.case_twin(person) or person
        if self._spelling[key] != person:
            spelled = self._spelling[key]
            raise PersonExists(f"{person!r} differs only by case from {spelled!r}; "
                               f"rename the folder to {spelled!r} to add to that person")
        return person

    def _analyze_and_store(self, batch: list[Incoming], settings: str) -> None:
        """Read each photo once (its digest checked against the one triage saw), run the
        networks, store; the skips are remembered under ``settings``."""
        first_skip = len(self.report.skipped)
        photos = []
        files = ((item, Path(item.source)) for item in batch)
        for item, outcome in analyze_photos(self._networks, files, upright=True):
            if isinstance(outcome, Skip):
                self.report.skipped.append(Skip(item.label, outcome.reason))
            elif outcome.sha256 != item.sha256:
                self.report.skipped.append(Skip(item.label, CHANGED_WHILE_READ))
            else:
                if outcome.turned and outcome.faces:
                    self.report.turned.append(Skip(item.label, turned_note(outcome.turned)))
                photos.append(AnalyzedPhoto(item, outcome.faces, outcome.size))
        self.store(photos)
        by_label = {item.label: item for item in batch}
        self.gallery.record_skips(
            [(by_label[s.path].source, by_label[s.path].sha256, s.reason,
              by_label[s.path].person)
             for s in self.report.skipped[first_skip:]
             if s.path in by_label and s.reason != CHANGED_WHILE_READ], settings)

    def _skip_settings(self) -> str:
        """What a skip depends on besides the photo: a photo skipped under other settings
        (another model, score threshold, size limit or small-face setting, strictness, or
        whether poor faces are kept) is tried again."""
        config = self._networks.detector.config
        return (f"{self._networks.model_id} min_score={config.score_threshold} "
                f"max_side={config.max_side} small_faces={config.small_faces} "
                f"strict={self.strict}" + (" keep_poor=True" if self.keep_poor else ""))


def turned_note(degrees: int) -> str:
    """What the report says of a photo whose face was found with the photo turned."""
    side = {90: "on its side (turned 90 degrees clockwise)", 180: "upside down",
            270: "on its side (turned 90 degrees counterclockwise)"}[degrees]
    return f"the photo is {side}; its face was found with the photo turned upright"


def remove_missing(gallery: Gallery, root: Path) -> int:
    """Erase the faces whose photo files under ``root`` are gone; returns how many."""
    prefix = str(root.absolute()) + os.sep
    gone = [s for s in gallery.sources() if s.startswith(prefix) and not Path(s).exists()]
    if gone:  # the user deleted these photos: their faces are erased everywhere
        from facerec.library.erasure import erase_from_library

        erase_from_library(gallery, gallery.remove_sources(gone))
    return len(gone)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return str(exc)
