"""A photo library: every face of a user's photos, scanned once, matched to the enrolled
people, and asked about without running the networks again.

A ``Library`` lives in a face database's folder beside its gallery
(``library.sqlite``, ``library.vectors``). Scanning (``scan``) is the only step that runs
the networks; every question (``find``, ``unknown``, ``who``) first brings the stored
matches up to date with the gallery (``matching``), so whatever changed the people
(enroll, remove, rename, merge, calibrate, name-group, correct, in this process or
another) is answered for at once, and decides the faces as identify does
(``decisions``).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from facerec.errors import DatabaseError, FacerecError, LibraryNotFound
from facerec.formats.xmp import FaceRegion
from facerec.library.decisions import Decider
from facerec.library.export import export_sidecars
from facerec.library.nearest_enrolled import MARGIN, CatchUp, LibraryMatcher
from facerec.models.model_id import ModelId
from facerec.recognition.matching import gallery_rule
from facerec.results import ExportReport, LibraryPhoto, ScanReport, Skip, Threshold
from facerec.storage.gallery import Gallery
from facerec.storage.library_store import FileState, LibraryStore, StoredFace
from facerec.storage.library_vectors import LibraryVectors
from facerec.types import Detection

if TYPE_CHECKING:
    from facerec.faces.analyzer import FaceAnalyzer

Together = Literal["any", "all"]

CHANGED_SINCE_SCAN = "the photo changed since it was scanned; scan it again"


@dataclass(frozen=True)
class UnknownFace:
    """A library face of nobody enrolled: a file of its photo, the photo's sha256, where
    the face is, and its (D,) embedding."""

    path: str
    sha256: str
    detection: Detection
    embedding: np.ndarray


class Library:
    """The photos scanned into the database in folder ``gallery.path``.

    Args:
        gallery: the enrolled people the library's faces are matched to (``close``
            leaves it open: it is the caller's).
        analyzer: the networks, for ``scan``; made on first use when None.
        create: create the library when there is none (otherwise LibraryNotFound).
    """

    def __init__(self, gallery: Gallery, analyzer: FaceAnalyzer | None = None,
                 create: bool = True) -> None:
        self.gallery = gallery
        self._analyzer = analyzer
        self._own_gallery = False
        if gallery.path is None:
            raise LibraryNotFound(f"the photo library lives in a database folder; the "
                                  f"database at {gallery.address} has none")
        self.folder = gallery.path
        path = self.folder / "library.sqlite"
        if not create and not path.is_file():
            raise LibraryNotFound(f"no photo library in {gallery.path}: scan photos into "
                                  "it first (facerec scan FOLDER)")
        self.store = LibraryStore(path, create=create)
        self._vectors: LibraryVectors | None = None

    @classmethod
    def open(cls, path: str | Path, analyzer: FaceAnalyzer | None = None,
             create: bool = True) -> Library:
        """The library of the database in folder ``path``, with a gallery of its own
        (closed with it)."""
        gallery = Gallery(path, create=create)
        try:
            library = cls(gallery, analyzer, create=create)
        except BaseException:
            gallery.close()
            raise
        library._own_gallery = True
        return library

    def close(self) -> None:
        try:
            self.store.close()
        finally:
            if self._own_gallery:
                self.gallery.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def model(self) -> str | None:
        """The model whose embeddings the library holds (None before the first scan)."""
        return self.store.get_meta("model")

    @property
    def analyzer(self) -> FaceAnalyzer:
        if self._analyzer is None:
            from facerec.faces.analyzer import FaceAnalyzer
            self._analyzer = FaceAnalyzer(download=True)
        return self._analyzer

    def threshold(self, given: float | None = None, fpir: float | None = None) -> Threshold:
        """``given``, else the open-set threshold identify names faces by
        (``facerec.recognition.matching``; read from the registry: no network is loaded)."""
        return gallery_rule(self.gallery, given, fpir)[0].threshold

    # scanning -----------------------------------------------------------------------------
    def scan(self, paths: Sequence[Path], *, keep_missing: bool = False,
             upright: bool = False, follow_links: bool = False, progress: bool = False
             ) -> ScanReport:
        """Scan folders (recursively) and files into the library (see ``scan``); one scan
        of a library runs at a time. A link to a file outside the folders and files
        given is named and skipped unless ``follow_links``."""
        from facerec.library.scan import (
            LibraryScan,  # the networks' side: questions never import it
        )

        model = self.analyzer.model_id
        self._claim_model(model)
        self.gallery.claim_model(model)
        with self._scanning():
            matcher = self._matcher(model)
            matcher.catch_up(self.threshold().value)
            floor = matcher.floor
            assert floor is not None
            return LibraryScan(self.store, self._vectors_of(model), matcher, self.analyzer,
                               floor, upright=upright, keep_missing=keep_missing,
                               follow_links=follow_links
                               ).run(paths, progress)

    def refresh(self, threshold: float | None = None) -> CatchUp:
        """Bring the stored matches up to date with the gallery (every question does this
        first); returns what it did."""
        model = self._usable_model()
        if model is None:
            return CatchUp(0, False)
        return self._matcher(model).catch_up(self.threshold(threshold).value)

    # questions ----------------------------------------------------------------------------
    def find(self, names: Iterable[str], together: Together = "any",
             threshold: float | None = None) -> list[LibraryPhoto]:
        """The photos of any (or, with ``together="all"``, all) of ``names``, newest
        first; PersonNotFound for a name nobody enrolled has."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            raise FacerecError("name at least one person")
        decider = self._refreshed(threshold)
        photo_sets = []
        for name in wanted:
            ids = [face.id for face in self.gallery.faces_of(name)]
            near = self.store.faces_matched(ids, decider.threshold)
            photo_sets.append({face.photo_id for face, match in decider.named(near)
                               if match.person == name})
        chosen = set.intersection(*photo_sets) if together == "all" else set.union(*photo_sets)
        return self._photos(chosen, decider)

    def unknown(self, threshold: float | None = None) -> list[LibraryPhoto]:
        """The photos with a face of nobody enrolled (or unsure), newest first."""
        decider = self._refreshed(threshold)
        return self._photos(self._with_unknown(decider), decider)

    def who(self, path: Path, threshold: float | None = None) -> LibraryPhoto | None:
        """The faces of the photo at ``path`` as the library has them; None when it was
        not scanned, or changed since (its size or modification time)."""
        name = os.path.abspath(path)
        held = self.store.photo_at(name)
        if held is None or not self._unchanged(name):
            return None
        photo_id = held[1]
        decider = self._refreshed(threshold)
        return next((photo for photo in self._photos({photo_id}, decider)
                     if photo.path == name), None)

    def export_xmp(self, names: Iterable[str] = (), threshold: float | None = None
                   ) -> ExportReport:
        """Write every known face of the photos of ``names`` (of everyone enrolled when
        none is named) into XMP sidecars beside them (see ``export``). Sidecars written
        before are written again too, so a person removed or renamed since is named no
        more. A photo changed since it was scanned is skipped, with the reason."""
        wanted = list(names) or [name for name, _ in self.gallery.people()]
        photos = self.find(wanted, threshold=threshold) if wanted else []
        before = {path: [FaceRegion(*region) for region in regions]
                  for path, regions in self.store.sidecars().items()}
        listed = {photo.path for photo in photos}
        again = [held[1] for path in before if path not in listed
                 and (held := self.store.photo_at(path)) is not None]
        photos += [photo for photo in self._photos(again, self._refreshed(threshold))
                   if photo.path in before and photo.path not in listed]
        fresh, skipped = [], []
        for photo in photos:
            if self._unchanged(photo.path):
                fresh.append(photo)
            else:
                skipped.append(Skip(photo.path, CHANGED_SINCE_SCAN))
        report = export_sidecars(fresh, before, lambda path, regions: self.store.record_sidecar(
            path, [astuple(region) for region in regions]))
        report.skipped[:0] = skipped
        return report

    def unknown_faces(self, threshold: float | None = None) -> list[UnknownFace]:
        """Every face of nobody enrolled, with one file of its photo and its stored
        embedding (for grouping them without reading the photos again)."""
        decider = self._refreshed(threshold)
        photo_ids = self._with_unknown(decider)
        path_of = {photo.id: (photo.path, photo.sha256)
                   for photo in reversed(self.store.photos(photo_ids))}
        in_photos = self.store.faces_in(photo_ids)
        faces = [face for face, match in zip(in_photos, decider.decide(in_photos))
                 if not match.known]
        ids, embeddings = self.store.embeddings_of(face.id for face in faces)
        embedding_of = dict(zip(ids.tolist(), embeddings))
        return [UnknownFace(*path_of[face.photo_id], face.detection, embedding_of[face.id])
                for face in faces if face.photo_id in path_of]

    def photo_file(self, sha256: str) -> str | None:
        """A file showing the photo with that digest as it was scanned (unchanged since),
        or None."""
        return next((path for path in self.store.paths_of(sha256) if self._unchanged(path)),
                    None)

    def counts(self) -> tuple[int, int, int]:
        """(files, photos, faces) in the library."""
        return self.store.counts()

    def copies_of(self, embeddings: np.ndarray, similarity: float) -> list[int]:
        """Ids of the library faces at ``similarity`` or nearer to any of ``embeddings``
        (N, D) of the library's model (none before the first scan)."""
        model = self.model
        if model is None or not len(embeddings):
            return []
        ids, _, _ = self._vectors_of(model).nearest(embeddings, similarity, self.store)
        return ids.tolist()

    def sync_vectors(self) -> None:
        """Bring the vector file up to date with the faces (the rows of deleted ones
        zeroed), as opening the library writable does."""
        model = self.model
        if model is not None and self.store.writable:
            self._vectors_of(model).sync(self.store)

    # inside -------------------------------------------------------------------------------
    def _unchanged(self, path: str) -> bool:
        """Whether the file at ``path`` has the size and mtime it had when scanned."""
        held = self.store.photo_at(path)
        try:
            info = os.stat(path)
        except OSError:
            return False
        return held is not None and \
            FileState.of(info) == held[0]

    def _refreshed(self, threshold: float | None) -> Decider:
        """The stored matches brought up to date, and the decision they are read by."""
        rule, templates = gallery_rule(self.gallery, threshold)
        model = self._usable_model()
        if model is not None:
            self._matcher(model).catch_up(rule.threshold.value)
        return Decider(self.store, rule, templates)

    def _with_unknown(self, decider: Decider) -> list[int]:
        """The photos with a face that is not named: no near enough match, or decided
        unknown or unsure in full."""
        photo_ids = set(self.store.photos_with_unknown(
            self.gallery.person_of(self.store.match_ids()), decider.threshold))
        near = self.store.faces_matched(self.store.match_ids(), decider.threshold)
        photo_ids |= {face.photo_id for face, match in decider.named(near) if not match.known}
        return sorted(photo_ids)

    def _usable_model(self) -> str | None:
        """The library's model, once it has one; DatabaseError when the gallery now
        holds another model's embeddings (matching them would mean nothing)."""
        model, enrolled = self.model, self.gallery.model
        if model is not None and enrolled is not None and model != enrolled:
            raise DatabaseError(f"the library's faces are {model} embeddings and the "
                                f"database now holds {enrolled} ones; scan the photos "
                                "into a new database folder (--db) to use them")
        return model

    def _claim_model(self, model: str) -> None:
        current = self._usable_model()
        if current is None:
            self.store.set_meta({"model": model})
        elif current != model:
            raise DatabaseError(f"this library holds {current} embeddings; {model} "
                                "embeddings cannot be mixed in")

    def _matcher(self, model: str) -> LibraryMatcher:
        return LibraryMatcher(self.store, self._vectors_of(model), self.gallery)

    def _vectors_of(self, model: str) -> LibraryVectors:
        if self._vectors is None:
            dim = ModelId.parse(model).dim
            self._vectors = LibraryVectors(self.folder / "library.vectors", dim)
            if self.store.writable:
                self._vectors.sync(self.store)
        return self._vectors

    def _photos(self, photo_ids: Iterable[int], decider: Decider) -> list[LibraryPhoto]:
        photo_ids = set(photo_ids)
        faces: dict[int, list[StoredFace]] = {}
        for face in self.store.faces_in(photo_ids):
            faces.setdefault(face.photo_id, []).append(face)
        answers = {photo_id: tuple(decider.decide(group)) for photo_id, group in faces.items()}
        return [LibraryPhoto(photo.path, photo.sha256, photo.size, photo.taken,
                             answers.get(photo.id, ()))
                for photo in self.store.photos(photo_ids)]

    @contextmanager
    def _scanning(self) -> Iterator[None]:
        """Hold the library's scan lock (DatabaseError when another scan holds it)."""
        fd = os.open(self.folder / "library.lock",
                     os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DatabaseError(f"another scan of the library in {self.folder} "
                                    "is running; wait for it to finish") from None
            yield
        finally:
            os.close(fd)


__all__ = ["Library", "MARGIN", "Together", "UnknownFace"]
