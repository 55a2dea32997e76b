"""FaceDB: enroll people, identify faces, manage names. The CLI only wraps this.

A database is a folder: ``faces.sqlite`` (the truth) and ``faces.index`` (a FAISS cache
of the embeddings, rebuilt from SQLite whenever it is stale).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..analyzer import FaceAnalyzer
from ..errors import ImageError
from ..image import ImageInput, load_image
from ..subject import main_face
from ..types import Detection, Face
from .calibrate import Calibration, calibrate
from .enroll import (AnalyzedPhoto, EnrollReport, Skip, file_digest, plan_folder, plan_named,
                     source_key, validate_name)
from .identify import Match, decide, rank_people
from .index import FaceIndex
from .store import DatabaseError, FaceRecord, FaceStore, NewFace

log = logging.getLogger(__name__)

DEFAULT_DB = "facerec-db"
ENROLL_BATCH = 16
NEIGHBOURS = 64
MISLABEL_CHECK_LIMIT = 100_000


def default_db_path() -> Path:
    """``$FACEREC_DB``, else ``./facerec-db``."""
    return Path(os.environ.get("FACEREC_DB") or DEFAULT_DB)


class FaceDB:
    """A face database in folder ``path``.

    Args:
        path: the database folder.
        analyzer: the pipeline that makes embeddings; created on first use if None.
        create: create the database if it does not exist (identify and the management
            commands open with ``create=False`` and raise DatabaseError instead).
    """

    def __init__(self, path: str | Path, analyzer: FaceAnalyzer | None = None,
                 create: bool = True) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise DatabaseError(f"{self.path} is a file, not a database folder")
        self.store = FaceStore(self.path / "faces.sqlite", create=create)
        self._analyzer = analyzer
        self._index: FaceIndex | None = None
        self._index_generation = -1

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> FaceDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the pipeline and the index ----------------------------------------------------------
    @property
    def analyzer(self) -> FaceAnalyzer:
        if self._analyzer is None:
            self._analyzer = FaceAnalyzer(download=True)
        return self._analyzer

    @property
    def threshold(self) -> float:
        """The calibrated threshold if there is one, else the model's default."""
        stored = self.store.get_meta("threshold")
        return float(stored) if stored is not None else self.analyzer.threshold

    def index(self) -> FaceIndex:
        """The FAISS index for the current database state (loaded, or rebuilt)."""
        generation = self.store.generation
        if self._index is not None and self._index_generation == generation:
            return self._index
        dim = self.analyzer.embedder.dim
        index = FaceIndex.load(self.path / "faces.index", generation, dim)
        if index is None:
            ids, embeddings = self.store.embeddings()
            index = FaceIndex.build(ids, embeddings, dim)
            log.debug("rebuilt the index from SQLite (%d faces)", len(index))
            self._save_index(index, generation)
        self._index, self._index_generation = index, generation
        return index

    def _save_index(self, index: FaceIndex, generation: int) -> None:
        try:
            index.save(self.path / "faces.index", generation)
        except OSError as exc:  # a read-only database still answers from memory
            log.debug("could not save the index: %s", exc)

    # enroll -------------------------------------------------------------------------------
    def enroll(self, root: Path | None = None, *, name: str | None = None,
               paths: Sequence[Path] = (), strict: bool = False, sync: bool = False,
               progress: bool = False) -> EnrollReport:
        """Enroll a known-people folder (``root``), or ``paths`` as one person (``name``).

        Unchanged photos (same sha256, same person) are not embedded again; changed ones
        replace their old face; with ``sync``, faces whose files under ``root`` are gone
        are removed. A photo with no face is skipped; with several faces the main one
        (``facerec.subject``) is used and the photo reported (``strict``: skipped
        instead). A skipped photo is remembered and not analyzed again while its bytes
        and the settings stay the same. Every batch is one transaction, so an interrupted
        run keeps what it finished and resumes.
        """
        self.store.claim_model(self.analyzer.model_id)
        report = EnrollReport()
        if name is not None:
            plan = plan_named(validate_name(name), paths)
        elif root is not None:
            plan = plan_folder(root)
        else:
            raise ValueError("give a folder, or a name with paths")
        known = self.store.sources()
        settings = self._skip_settings(strict)
        skipped_before = self.store.skips(settings)
        todo: list[tuple[str, Path, str]] = []
        for person, path in plan:
            report.photos += 1
            try:
                person = validate_name(person)
                digest = file_digest(path)
            except (OSError, ValueError) as exc:
                report.skipped.append(Skip(str(path), _reason(exc)))
                continue
            report.people.add(person)
            key = source_key(path)
            if known.get(key) == (digest, person):
                report.unchanged += 1
            elif key in skipped_before and skipped_before[key][0] == digest:
                report.skipped.append(Skip(str(path), f"{skipped_before[key][1]} "
                                                      "(unchanged since the last run)"))
            else:
                todo.append((person, path, digest))
        if sync and root is not None:
            report.removed = self._remove_missing(root, known)
        bar = tqdm(total=len(todo), desc="enrolling", unit="photo", disable=not progress)
        for start in range(0, len(todo), ENROLL_BATCH):
            batch = todo[start:start + ENROLL_BATCH]
            self._enroll_batch(batch, strict, report, settings)
            bar.update(len(batch))
        bar.close()
        self.index()  # bring the saved index up to date once, at the end
        report.suspicious = self.suspicious_faces(
            {source_key(p) for _, p, _ in todo})
        return report

    def _enroll_batch(self, batch: list[tuple[str, Path, str]], strict: bool,
                      report: EnrollReport, settings: str) -> None:
        first_skip = len(report.skipped)
        loaded = []
        for person, path, digest in batch:
            try:
                loaded.append((person, path, digest, load_image(path)))
            except ImageError as exc:
                report.skipped.append(Skip(str(path), exc.reason))
        analyzed = self.analyzer.analyze_batch([item[3] for item in loaded])
        self.add_photos([AnalyzedPhoto(person, source_key(path), str(path), digest, faces,
                                       (pixels.shape[1], pixels.shape[0]))
                         for (person, path, digest, pixels), faces in zip(loaded, analyzed)],
                        strict, report)
        photo = {str(path): (source_key(path), digest) for _, path, digest in batch}
        self.store.record_skips([(*photo[s.path], s.reason) for s in report.skipped[first_skip:]],
                                settings)

    def _skip_settings(self, strict: bool) -> str:
        """What a skip depends on besides the photo: a photo skipped under other settings
        (another model, score threshold or size limit, or strictness) is tried again."""
        config = self.analyzer.detector.config
        return (f"{self.analyzer.model_id} min_score={config.score_threshold} "
                f"max_side={config.max_side} strict={strict}")

    def add_photos(self, photos: Sequence[AnalyzedPhoto], strict: bool = False,
                   report: EnrollReport | None = None) -> EnrollReport:
        """Store one face of each analyzed photo, all in one transaction.

        A photo with no face is skipped; with several, the main one is used and the photo
        reported (``strict``: skipped instead). A photo already recorded under the same
        source is replaced. Counts go into ``report`` (a new one if None), returned.
        """
        report = EnrollReport() if report is None else report
        self.store.claim_model(self.analyzer.model_id)
        known = self.store.sources(p.source for p in photos)
        new_faces = []
        for photo in photos:
            face = _choose_face(photo, strict, report)
            if face is not None:
                new_faces.append(NewFace(photo.person, photo.source, photo.sha256,
                                         face.detection, _quality(face.detection),
                                         face.embedding))
        if new_faces:
            self.store.replace_faces(new_faces)
        replaced = sum(face.source in known for face in new_faces)
        report.replaced += replaced
        report.added += len(new_faces) - replaced
        return report

    def known_sources(self, sources: Iterable[str]) -> dict[str, tuple[str, str]]:
        """source -> (sha256, person) for those of ``sources`` that are enrolled."""
        return self.store.sources(sources)

    def _remove_missing(self, root: Path, known: dict[str, tuple]) -> int:
        prefix = str(root.absolute()) + os.sep
        gone = [s for s in known if s.startswith(prefix) and not Path(s).exists()]
        if gone:
            self.store.replace_faces([], remove_sources=gone)
        return len(gone)

    def suspicious_faces(self, sources: set[str] | None = None) -> list[Skip]:
        """Faces closer to another person's faces than to the rest of their own person's.

        Compares each face's mean similarity to its own person's other faces with its
        mean similarity to each other person's faces. ``sources`` limits the check to
        those photos. Skipped above 100,000 faces.
        """
        records = self.store.faces()
        if len(records) > MISLABEL_CHECK_LIMIT or len(records) < 3:
            return []
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
                record = records[row]
                own = owner[row]
                if counts[own] < 2:
                    continue
                means = row_sums / counts
                means[own] = (row_sums[own] - 1.0) / (counts[own] - 1)
                others = np.where(np.arange(len(people)) == own, -np.inf, means)
                other = int(np.argmax(others))
                if means[other] > means[own]:
                    flagged.append(Skip(record.source,
                                        f"enrolled as {record.person!r} but closer to "
                                        f"{people[other]!r} ({means[other]:.2f} vs "
                                        f"{means[own]:.2f})"))
        return flagged

    # identify ----------------------------------------------------------------------------
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
        """Name faces from their embeddings (e.g. computed elsewhere)."""
        if not len(embeddings):
            return []
        threshold = self.threshold if threshold is None else threshold
        model = self.store.get_meta("model")
        if model is not None and model != self.analyzer.model_id:
            raise DatabaseError(f"this database holds {model} embeddings, "
                                f"not {self.analyzer.model_id}")
        sims, ids = self.index().search(np.stack(embeddings), max(NEIGHBOURS, top_k * 8))
        person_of = self.store.person_of(np.unique(ids[ids >= 0]))
        return [decide(d, rank_people(s, i, person_of, top_k), threshold)
                for d, s, i in zip(detections, sims, ids)]

    # manage ------------------------------------------------------------------------------
    def people(self) -> list[tuple[str, int]]:
        """(name, face count) per person, by name."""
        return self.store.people()

    def faces_of(self, name: str) -> list[FaceRecord]:
        """Every enrolled face of person ``name``; PersonNotFound if there is none."""
        return self.store.faces_of(name)

    def remove(self, name: str) -> int:
        return self.store.remove_person(name)

    def rename(self, old: str, new: str) -> None:
        self.store.rename_person(old, validate_name(new))

    def merge(self, source: str, target: str) -> int:
        return self.store.merge_people(source, target)

    def calibrate(self, far: float = 1e-3, force: bool = False) -> Calibration:
        """Estimate the threshold for false-accept rate ``far``.

        It is stored (and used from then on) when the figures are reliable, or with
        ``force``; an unreliable estimate is only returned.
        """
        records = self.store.faces()
        labels = np.array([r.person for r in records])
        result = calibrate(np.stack([r.embedding for r in records]) if records
                           else np.zeros((0, 1), np.float32), labels, far)
        if result.reliable or force:
            self.store.set_meta("threshold", repr(result.threshold))
            self.store.set_meta("calibration", json.dumps(result.to_dict()))
        return result

    def check(self) -> tuple[int, int]:
        """(faces in SQLite, faces in the index), which agree after ``index()``."""
        return len(self.store.embeddings()[0]), len(self.index())


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


def _quality(detection: Detection) -> float:
    """Detector score times how near the face is to the 112-pixel crop size (0..1)."""
    side = min(detection.width, detection.height)
    return float(detection.score * min(1.0, side / 112.0))


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return str(exc)


