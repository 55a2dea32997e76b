"""A face database's storage: people and faces in SQLite, searched through FAISS.

A database is a folder: ``faces.sqlite`` (the truth) and ``faces.index`` with its note
``faces.json`` (a FAISS cache kept in step with SQLite in place, see ``live_index``).
The Gallery knows nothing of images or networks: it stores and finds embeddings, names
people and keeps the database's threshold. ``facerec.recognition.recognizer`` puts photos in and
asks it who they are.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from facerec.errors import DatabaseError, PersonNotFound
from facerec.names import case_clash
from facerec.storage.erasure import Erasure, delete_thumbnails, erase_from_backups
from facerec.storage.live_index import LiveIndex
from facerec.storage.store import Conflict, Delta, FaceRecord, FaceStore, NewFace
from facerec.storage.templates import PeopleTemplates

DEFAULT_DB = "facerec-db"

T = TypeVar("T")


def default_db_path() -> Path:
    """``$FACEREC_DB``, else ``./facerec-db``."""
    return Path(os.environ.get("FACEREC_DB") or DEFAULT_DB)


def stored_model(path: str | Path) -> str | None:
    """The model id recorded by the database in folder ``path`` (None when there is no
    database there or it holds no faces yet); nothing is loaded but that setting."""
    file = Path(path) / "faces.sqlite"
    if not file.is_file():
        return None
    store = FaceStore(file, create=False, check=False)
    try:
        return store.get_meta("model")
    finally:
        store.close()


def _serialized(method: Callable[..., T]) -> Callable[..., T]:
    """Run a Gallery method under the gallery's lock: one thread at a time uses its
    SQLite connection and index, whichever caller it comes from."""

    @functools.wraps(method)
    def run(self: Gallery, *args: Any, **kwargs: Any) -> T:
        with self._lock:
            return method(self, *args, **kwargs)

    return run


class Gallery:
    """The people and faces of the database in folder ``path``.

    Every method holds the gallery's lock while it runs, so threads may share one
    Gallery (as the HTTP service's do); its store and index are its own.

    Args:
        path: the database folder.
        create: create the database if it does not exist (otherwise DatabaseError).
        check: look for damage on opening (see ``FaceStore``).
    """

    def __init__(self, path: str | Path, create: bool = True, check: bool = True) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise DatabaseError(f"{self.path} is a file, not a database folder")
        self._store = FaceStore(self.path / "faces.sqlite", create=create, check=check)
        self._index = LiveIndex(self._store, self.path / "faces.index")
        self._templates: tuple[tuple[int, int, str], PeopleTemplates] | None = None
        self._lock = threading.RLock()

    @_serialized
    def close(self) -> None:
        try:
            self._index.close()
        finally:
            self._store.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    @_serialized
    def writable(self) -> bool:
        return self._store.writable

    # people -------------------------------------------------------------------------------
    @_serialized
    def people(self) -> list[tuple[str, int]]:
        """(name, face count) per person, by name."""
        return self._store.people()

    @_serialized
    def has_people(self) -> bool:
        return self._store.has_people()

    @_serialized
    def counts(self) -> tuple[int, int]:
        """(people, faces), without listing them."""
        return self._store.count_people(), self._store.count()

    @_serialized
    def faces_of(self, name: str) -> list[FaceRecord]:
        """Every enrolled face of person ``name``; PersonNotFound if there is none."""
        return self._store.faces_of(name)

    @_serialized
    def remove(self, name: str) -> Erasure:
        """Delete a person and their faces, and erase them from every copy the database
        folder keeps (see ``erasure``) before returning what was erased."""
        return self._erase(self._store.remove_person(name))

    @_serialized
    def remove_face(self, face_id: int) -> Erasure:
        """Delete one face (its person too when it was their last) and erase it from
        every copy, as ``remove`` does; PersonNotFound when there is no such face."""
        faces = self._store.remove_faces([face_id])
        if not faces:
            raise PersonNotFound(f"no face {face_id}")
        return self._erase(faces)

    @_serialized
    def remove_sources(self, sources: Iterable[str]) -> Erasure:
        """Delete the faces recorded under ``sources`` and erase them as ``remove`` does
        (``enroll --sync`` for photos deleted from the folder)."""
        return self._erase(self._store.remove_faces(self._store.face_ids(sources)))

    def _erase(self, faces: list[FaceRecord]) -> Erasure:
        erased = Erasure(faces=faces)
        self._templates = None
        erased.index = self._index.erase()
        gone = sorted({f.person for f in faces if not self._store.has_person(f.person)})
        erased.skips = sum(self._store.forget_skips(person, faces) for person in gone)
        digests = [f.sha256 for f in faces]
        still_held = set(self._store.holders(digests))
        erased.thumbnails = delete_thumbnails(self.path, [d for d in digests
                                                          if d not in still_held])
        erase_from_backups(self.path, digests, gone, erased)
        erased.log_truncated = self._store.truncate_log()
        return erased

    @_serialized
    def case_twin(self, name: str) -> str | None:
        """The enrolled person whose name differs from new name ``name`` only by case."""
        return self._store.case_twin(name)

    @_serialized
    def refuse_case_twin(self, name: str) -> None:
        """PersonExists, naming them, when ``name`` is new but for case."""
        twin = self._store.case_twin(name)
        if twin is not None:
            raise case_clash(name, twin)

    @_serialized
    def rename(self, old: str, new: str) -> None:
        """Rename a person (InvalidName, PersonNotFound, PersonExists)."""
        self._store.rename_person(old, new)

    @_serialized
    def merge(self, source: str, target: str) -> int:
        """Move every face of ``source`` to ``target``, delete ``source``; returns the
        number of faces moved. Merging a person into themself is refused."""
        return self._store.merge_people(source, target)

    # faces --------------------------------------------------------------------------------
    @_serialized
    def claim_model(self, model_id: str) -> None:
        """Record the embedding model of this database; refuse another one."""
        self._store.claim_model(model_id)

    @property
    @_serialized
    def model(self) -> str | None:
        """The id of the model whose embeddings the database holds (None while empty)."""
        return self._store.get_meta("model")

    @_serialized
    def add_faces(self, faces: list[NewFace], remove_sources: Iterable[str] = ()) -> list[int]:
        """Store faces (replacing any under the same source) and remove others by source,
        in one transaction; returns the new ids."""
        return self._store.replace_faces(faces, remove_sources)

    @_serialized
    def claim_faces(self, faces: list[NewFace], remove_sources: Iterable[str] = ()
                    ) -> tuple[list[int], list[Conflict]]:
        """Store faces as ``add_faces`` does, except those whose photo another person
        holds (decided inside the write); returns the new ids and those refused."""
        return self._store.claim_faces(faces, remove_sources)

    @_serialized
    def face(self, face_id: int) -> FaceRecord | None:
        """The enrolled face with id ``face_id``, if there is one."""
        found = self._store.faces([face_id])
        return found[0] if found else None

    @_serialized
    def load_index(self) -> None:
        """Load (or build) the search index now, so the first search is not slow."""
        self._index.current()

    @_serialized
    def count(self) -> int:
        """How many faces are enrolled."""
        return self._store.count()

    @_serialized
    def all_faces(self) -> list[FaceRecord]:
        """Every enrolled face, embeddings included."""
        return self._store.faces()

    @_serialized
    def skips(self, settings: str) -> dict[str, tuple[str, str]]:
        """source -> (sha256, reason) of the photos enrollment skipped under ``settings``
        (the skip memory: they are not analysed again while bytes and settings stay)."""
        return self._store.skips(settings)

    @_serialized
    def record_skips(self, rows: Iterable[tuple[str, str, str, str]], settings: str) -> None:
        """Remember skipped photos as (source, sha256, reason, person) under ``settings``."""
        self._store.record_skips(rows, settings)

    @_serialized
    def sources(self, only: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        """source -> (sha256, person) of the enrolled faces (of ``only`` if given)."""
        return self._store.sources(only)

    @_serialized
    def holders(self, digests: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """sha256 -> [(source, person), ...] of enrolled faces with those bytes."""
        return self._store.holders(digests)

    @_serialized
    def search(self, embeddings: np.ndarray, k: int
               ) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """The k nearest faces of each (Q, D) embedding: similarities (Q, k'), face ids
        (Q, k') (-1: none) and the person of each enrolled id among them."""
        sims, ids = self._index.search(embeddings, k)
        return sims, ids, self._store.person_of(np.unique(ids[ids >= 0]))

    @_serialized
    def person_of(self, ids: Iterable[int]) -> dict[int, str]:
        """face id -> person, for the ids among ``ids`` that are enrolled."""
        return self._store.person_of(ids)

    @property
    @_serialized
    def generation(self) -> int:
        """The change-log position of the enrolled faces (see ``FaceStore``)."""
        return self._store.generation

    @_serialized
    def changes_since(self, generation: int) -> Delta | None:
        """The faces added and removed after ``generation``; None when the log no longer
        reaches back that far (whoever follows the gallery then starts again)."""
        return self._store.delta(generation)

    @_serialized
    def check(self) -> tuple[int, int]:
        """(faces in SQLite, faces in the index); they agree once the index caught up."""
        index = self._index.current()
        return self._store.count(), 0 if index is None else len(index)

    # the open-set decision -----------------------------------------------------------------
    @_serialized
    def templates(self) -> PeopleTemplates:
        """Every person's faces and rejected faces (see ``templates``), read
        again only when the database changed, by this process or another."""
        key = self._store.decision_key
        if self._templates is None or self._templates[0] != key:
            self._templates = (key, self._store.templates())
        return self._templates[1]

    @_serialized
    def reject(self, name: str, face: NewFace) -> bool:
        """Keep ``face`` as not ``name``: from now on faces more like it than like
        ``name``'s own are not given that name. False when it already was kept."""
        return self._store.reject(name, face)

    @_serialized
    def forget_rejections(self, name: str, digest: str) -> int:
        """Forget that the photo with bytes ``digest`` is not ``name``."""
        return self._store.forget_rejections(name, digest)

    @_serialized
    def rejection_counts(self) -> dict[str, int]:
        """person -> faces marked as not them."""
        return self._store.rejection_counts()

    # threshold ----------------------------------------------------------------------------
    @property
    @_serialized
    def calibrated_threshold(self) -> float | None:
        """The threshold ``facerec calibrate`` stored for this database, if any."""
        stored = self._store.get_meta("threshold")
        return None if stored is None else float(stored)

    @_serialized
    def settings(self) -> dict[str, str]:
        """The stored settings the decision reads: ``threshold`` and ``calibration``
        (``facerec calibrate``), ``fpir`` and ``fpir_offset`` (its open-set target)."""
        keys = ("threshold", "calibration", "fpir", "fpir_offset")
        return {key: value for key in keys if (value := self._store.get_meta(key)) is not None}

    @_serialized
    def restore_settings(self, settings: dict[str, str]) -> None:
        """Write settings saved from another database (``repair``) in one transaction."""
        self._store.set_meta_items(settings)

    @_serialized
    def set_open_set(self, fpir: float, offset: float, how: dict[str, object]) -> None:
        """Store the open-set target ``fpir`` and the ``offset`` the database's own faces
        ask for, with ``how`` they were chosen; a threshold stored before is dropped."""
        self._store.replace_meta({"fpir": repr(float(fpir)), "fpir_offset": repr(float(offset)),
                                  "calibration": json.dumps(how)}, forget=["threshold"])

    @_serialized
    def set_threshold(self, value: float, how: dict[str, object]) -> None:
        """Store ``value`` as this database's threshold, with ``how`` it was chosen."""
        self._store.set_meta_items({"threshold": repr(float(value)),
                                   "calibration": json.dumps(how)})
