"""Scanning folders of photos into the library, reading only what is new.

A file with the size and modification time it had when last read is not read again. A
file that is read is hashed first: bytes the library already holds (a photo moved,
renamed or copied) are linked to their photo, never analysed again; only new bytes go
through the networks. Files gone from under a scanned folder are dropped, with their
photo's faces when no other file shows it, unless asked to keep them (a disconnected
disk). Every batch is one transaction, so a run killed at any moment leaves a library
that opens, and the next run goes on from what was stored.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from facerec.enrollment.enrolled_face import face_quality
from facerec.errors import ImageError
from facerec.faces.reading import PhotoFaces, Received, analyze_photos
from facerec.library.nearest_enrolled import LibraryMatcher
from facerec.photos.image import date_taken, read_image_file_and_state
from facerec.photos.paths import NOT_UTF8, is_text, scan_folder
from facerec.results import ScanReport, Skip
from facerec.storage.library_store import FileState, LibraryStore, ScannedFace, ScannedPhoto
from facerec.storage.library_vectors import LibraryVectors

if TYPE_CHECKING:
    from facerec.faces.analyzer import FaceAnalyzer

SCAN_BATCH = 16
"""Photos analysed and stored per transaction."""


@dataclass(frozen=True)
class _Read:
    """A file read for the scan: its path, state before reading, bytes and digest."""

    path: str
    state: FileState
    data: bytes
    sha256: str


class LibraryScan:
    """One scan of folders and files into a library.

    Args:
        store, vectors: the library.
        matcher: matches each new face to the enrolled faces as it is stored.
        analyzer: the networks.
        floor: the similarity a recorded match must reach (see ``matching``).
        upright: look again, turned, at photos with no face or only weak ones.
        keep_missing: keep the files gone from under a scanned folder.
        follow_links: read links to files outside the scanned folders and files too
            (otherwise each is named and skipped: a scan reads what is under its roots).
    """

    def __init__(self, store: LibraryStore, vectors: LibraryVectors,
                 matcher: LibraryMatcher, analyzer: FaceAnalyzer, floor: float, *,
                 upright: bool = False, keep_missing: bool = False,
                 follow_links: bool = False) -> None:
        self.store = store
        self.vectors = vectors
        self.matcher = matcher
        self.analyzer = analyzer
        self.floor = floor
        self.upright = upright
        self.keep_missing = keep_missing
        self.follow_links = follow_links
        self.report = ScanReport()

    def run(self, roots: Sequence[Path], progress: bool = False) -> ScanReport:
        """Scan ``roots`` (folders, recursively, and files); see the module doc."""
        roots = [Path(os.path.abspath(root)) for root in roots]
        found = self._walk(roots)
        known, skipped_before = self.store.files(), self.store.skipped()
        todo: list[tuple[str, FileState]] = []
        for path, state in found.items():
            if state is None:
                continue
            if path in known and known[path][0] == state:
                self.report.unchanged += 1
            elif path in skipped_before and skipped_before[path][0] == state:
                self.report.skipped.append(Skip(path, skipped_before[path][1]))
            else:
                todo.append((path, state))
        bar = tqdm(total=len(todo), desc="scanning", unit="photo", disable=not progress)
        for start in range(0, len(todo), SCAN_BATCH):
            batch = todo[start:start + SCAN_BATCH]
            self._scan_batch(batch, known)
            bar.update(len(batch))
        bar.close()
        if not self.keep_missing:  # after the new paths of moved photos are linked
            gone = [path for path in list(known) + list(skipped_before)
                    if path not in found and _under(path, roots)]
            self.report.removed = self.store.drop_files(gone)
        self.vectors.sync(self.store)
        return self.report

    def _walk(self, roots: list[Path]) -> dict[str, FileState | None]:
        """Every photo file under ``roots`` with its state; None for one that is named
        but cannot be taken (reported as skipped)."""
        found: dict[str, FileState | None] = {}
        inside = [os.path.realpath(root) for root in roots]
        for root in roots:
            images, refused = scan_folder(root) if root.is_dir() else ([root], [])
            for path, reason in refused:
                self._skip(str(path), reason)
                found[str(path)] = None
            for path in images:
                name = str(path)
                if name in found:
                    continue
                if not self.follow_links and not _under(os.path.realpath(name), inside):
                    self._skip(name, LINK_OUT)
                    found[name] = None
                    continue
                self.report.photos += 1
                found[name] = self._state(name)
        return found

    def _state(self, path: str) -> FileState | None:
        if not is_text(path):
            self.report.skipped.append(Skip(path, NOT_UTF8))
            return None
        try:
            info = os.stat(path)
        except OSError as exc:
            self.report.skipped.append(Skip(path, f"cannot be read: {exc.strerror or exc}"))
            return None
        return FileState.of(info)

    def _skip(self, path: str, reason: str) -> None:
        self.report.photos += 1
        self.report.skipped.append(Skip(path, reason))

    def _scan_batch(self, batch: list[tuple[str, FileState]],
                    known: dict[str, tuple[FileState, int]]) -> None:
        reads, failed = [], []
        for path, state in batch:
            try:
                data, info = read_image_file_and_state(Path(path))
            except ImageError as exc:
                failed.append((path, state, exc.reason))
                continue
            # the state that goes with these bytes, not the walk's (the file may have
            # changed in between: a skip remembered under the walk's state would outlive
            # the file put back as it was)
            reads.append(_Read(path, FileState.of(info), data,
                               hashlib.sha256(data).hexdigest()))
        held = self.store.photos_by_digest(read.sha256 for read in reads)
        self.report.moved += sum(read.sha256 in held for read in reads)
        self.store.link([(read.path, read.state, held[read.sha256])
                         for read in reads if read.sha256 in held])
        new = [read for read in reads if read.sha256 not in held]
        analysed: list[tuple[_Read, PhotoFaces]] = []
        for read, outcome in analyze_photos(
                self.analyzer, ((read, Received(read.path, read.data)) for read in new),
                batch=SCAN_BATCH, upright=self.upright):
            if isinstance(outcome, PhotoFaces):
                analysed.append((read, outcome))
                self.report.changed += read.path in known
            else:
                failed.append((read.path, read.state, outcome.reason))
        if analysed:
            self.store.add_photos(self._matched(analysed))
        self.report.analysed += len(analysed)
        self.report.faces += sum(len(photo.faces) for _, photo in analysed)
        if failed:
            self.store.record_skips(failed)
            self.report.skipped += [Skip(path, reason) for path, _, reason in failed]

    def _matched(self, analysed: list[tuple[_Read, PhotoFaces]]) -> list[ScannedPhoto]:
        """The analysed photos as stored, each face with its nearest enrolled face (one
        search for the whole batch)."""
        faces = [face for _, photo in analysed for face in photo.faces]
        matches = iter(self.matcher.nearest(
            np.array([face.embedding for face in faces], np.float32), self.floor))
        return [ScannedPhoto(read.path, read.state, read.sha256, photo.size,
                             date_taken(read.data), photo.turned,
                             [ScannedFace(face.detection, face_quality(face.detection),
                                          face.embedding, *next(matches))
                              for face in photo.faces])
                for read, photo in analysed]


LINK_OUT = ("a link to a file outside the scanned folders; not read (--follow-links reads "
            "it)")


def _under(path: str, roots: list[Path] | list[str]) -> bool:
    return any(path == str(root) or path.startswith(str(root).rstrip(os.sep) + os.sep)
               for root in roots)
