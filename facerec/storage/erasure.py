"""Erasing people and faces from every copy a database keeps, before the answer is sent.

A face removed from SQLite still has copies elsewhere in the folder; ``erase`` reaches
each one:

* SQLite: rows are deleted with ``secure_delete`` on (their bytes are overwritten with
  zeros, see ``sqlite.connect``) and the write-ahead log is checkpointed and truncated,
  so no older version of a page lingers in ``faces.sqlite-wal``.
* The FAISS index file (``faces.index``): rewritten without the faces, or, for an
  approximate index (which cannot delete in place), removed, to be rebuilt from SQLite.
* Face crops (``thumbnails/<sha256>.jpg``) of the photos no remaining face comes from.
* The skip memory of the person's photos.
* Backups that ``facerec reindex`` keeps (``faces.sqlite.<model>.bak``, or a copy left
  by a killed reindex): the same photos are erased from them too; one that cannot be
  written is named in the result with how to remove it.
* The photo library (``library.sqlite``, ``library.vectors``) keeps no copy of an erased
  face, nor a sidecar record naming someone removed (``facerec.library.erasure``, run by
  the workflows that remove: the library's rules live above storage).

What stays out of reach is said plainly: copies a file system or disk keeps of freed
blocks (use full-disk encryption), and other processes' memory until their next search.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from typing_extensions import TypedDict

from facerec.errors import DatabaseError
from facerec.storage.rows import FaceRecord
from facerec.storage.store import FaceStore
from facerec.types import closed

log = logging.getLogger(__name__)

THUMBNAILS = "thumbnails"
"""The folder of face crops beside a database."""

BACKUP_PATTERNS = ("faces.sqlite.*.bak", "faces.sqlite.reindex")
"""Other SQLite files a database folder may hold (``reindex``'s backup and staging)."""


def thumbnail_file(folder: Path, sha256: str) -> Path:
    """Where the crop of the face from the photo with ``sha256`` is kept."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return Path(folder) / THUMBNAILS / f"{sha256}.jpg"


@closed
class ErasureDict(TypedDict):
    faces: int
    index: str
    log_truncated: bool
    thumbnails: int
    skip_memory: int
    backups: list[str]
    not_erased: list[str]
    unknown_faces: int
    library_faces: int
    sidecars_rewritten: int


@dataclass
class Erasure:
    """What was erased, and where.

    Attributes:
        faces: the faces removed, with their embeddings ((D,) float32 each).
        index: ``"rewritten"`` (the index file was saved without them), ``"dropped"``
            (removed, rebuilt from SQLite when next needed) or ``"none"`` (there was none).
        log_truncated: whether the SQLite write-ahead log was checkpointed and emptied
            (False when another process was reading at that moment; it empties when
            that reader ends).
        thumbnails: face crops deleted.
        skips: entries of the skip memory forgotten.
        backups: backup files the faces were erased from.
        not_erased: files still holding them, each with what to do.
        unknown_faces: remembered unknown faces forgotten (filled in by the service).
        library_faces: copies of the faces erased from the photo library.
        sidecars_rewritten: XMP sidecars written again without someone removed.
    """

    faces: list[FaceRecord] = field(default_factory=list)
    index: str = "none"
    log_truncated: bool = False
    thumbnails: int = 0
    skips: int = 0
    backups: list[str] = field(default_factory=list)
    not_erased: list[str] = field(default_factory=list)
    unknown_faces: int = 0
    library_faces: int = 0
    sidecars_rewritten: int = 0

    @property
    def embeddings(self) -> np.ndarray:
        """(N, D) float32 embeddings of the removed faces."""
        if not self.faces:
            return np.zeros((0, 0), np.float32)
        return np.stack([f.embedding for f in self.faces]).astype(np.float32)

    def to_dict(self) -> ErasureDict:
        return {"faces": len(self.faces), "index": self.index,
                "log_truncated": self.log_truncated, "thumbnails": self.thumbnails,
                "skip_memory": self.skips, "backups": self.backups,
                "not_erased": self.not_erased, "unknown_faces": self.unknown_faces,
                "library_faces": self.library_faces,
                "sidecars_rewritten": self.sidecars_rewritten}

    def lines(self) -> list[str]:
        """What was erased, for people: one line per place."""
        said = [f"database: {len(self.faces)} faces deleted and overwritten; write-ahead "
                f"log {'emptied' if self.log_truncated else 'to be emptied when its reader ends'}",
                f"index: {self.index}", f"face crops: {self.thumbnails} deleted",
                f"skip memory: {self.skips} entries forgotten"]
        said += [f"backup {name}: erased too" for name in self.backups]
        if self.library_faces or self.sidecars_rewritten:
            said.append(f"photo library: {self.library_faces} copies erased, "
                        f"{self.sidecars_rewritten} XMP sidecars written without them")
        said += [f"NOT ERASED: {note}" for note in self.not_erased]
        return said


def erase_from_backups(folder: Path, digests: Sequence[str], people: Sequence[str],
                       erasure: Erasure) -> None:
    """Erase the faces of the photos with ``digests``, and the skip memory of ``people``
    (those removed whole), from every backup in ``folder``, recording each in
    ``erasure`` (or, when it cannot be written, what to do)."""
    if not digests:
        return
    for pattern in BACKUP_PATTERNS:
        for path in sorted(Path(folder).glob(pattern)):
            try:
                store = FaceStore(path, create=False, check=False)
            except DatabaseError as exc:
                erasure.not_erased.append(f"{path} could not be opened ({exc}); delete it")
                continue
            try:
                erased = store.erase_photos(digests)
                erased += sum(store.forget_skips(p, erasure.faces) for p in people)
                if erased:
                    erasure.backups.append(path.name)
                store.truncate_log()
            except DatabaseError as exc:
                erasure.not_erased.append(f"{path} could not be changed ({exc}); delete it")
            finally:
                store.close()


def delete_thumbnails(folder: Path, digests: Sequence[str]) -> int:
    """Delete the crops of the photos with ``digests``; returns how many there were."""
    deleted = 0
    for digest in set(digests):
        try:
            thumbnail_file(folder, digest).unlink()
            deleted += 1
        except FileNotFoundError:
            pass
        except ValueError:
            log.debug("not a sha256, no crop: %r", digest)
    return deleted
