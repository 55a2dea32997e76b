"""A face database's storage: people and faces in SQLite or PostgreSQL, searched through
FAISS.

A database is a folder: ``faces.sqlite`` (the truth) and ``faces.index`` with its note
``faces.json`` (a FAISS cache kept in step with SQLite in place, see ``live_index``); or
a PostgreSQL database many processes share, each with its index in memory. The Gallery
knows nothing of images or networks: it stores and finds embeddings, names people and
keeps the database's threshold. ``facerec.recognition.recognizer`` puts photos in and asks
it who they are.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar, cast

import numpy as np

from facerec.errors import DatabaseError, PersonNotFound
from facerec.formats.files import atomic_write
from facerec.storage.erasure import (
    Erasure,
    delete_thumbnails,
    erase_from_backups,
    thumbnail_file,
)
from facerec.storage.follower import POLL, ChangeFollower
from facerec.storage.live_index import LiveIndex
from facerec.storage.postgres import PostgresFaceStore, checked_address, is_postgres
from facerec.storage.store import FaceRecord, FaceStore
from facerec.storage.templates import PeopleTemplates

DEFAULT_DB = "facerec-db"

P = ParamSpec("P")
R = TypeVar("R")


def default_db_path() -> Path | str:
    """``$FACEREC_DB`` (a folder, or a PostgreSQL address), else ``./facerec-db``."""
    given = os.environ.get("FACEREC_DB") or DEFAULT_DB
    return checked_address(given) if is_postgres(given) else Path(given)


def stored_model(path: str | Path) -> str | None:
    """The model id recorded by the database in folder ``path``, or at the PostgreSQL
    address ``path`` (None when there is no database there or it holds no faces yet);
    nothing is loaded but that setting."""
    store: FaceStore
    if is_postgres(path):
        try:
            store = PostgresFaceStore(str(path), create=False)
        except DatabaseError as exc:
            if "no face database" in str(exc):
                return None
            raise
    else:
        file = Path(path) / "faces.sqlite"
        if not file.is_file():
            return None
        store = FaceStore(file, create=False, check=False)
    try:
        return store.get_meta("model")
    finally:
        store.close()


def open_store(path: str | Path, create: bool = True, check: bool = True) -> FaceStore:
    """The store of the database in folder ``path``, or at the PostgreSQL address
    ``path`` (see ``Gallery``)."""
    if is_postgres(path):
        return PostgresFaceStore(str(path), create=create)
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise DatabaseError(f"{folder} is a file, not a database folder")
    return FaceStore(folder / "faces.sqlite", create=create, check=check)


def _serialized(method: Callable[Concatenate[Gallery, P], R]
                ) -> Callable[Concatenate[Gallery, P], R]:
    """Run a Gallery method under the gallery's lock: one thread at a time uses its
    SQLite connection and index, whichever caller it comes from."""

    @functools.wraps(method)
    def run(gallery: Gallery, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with gallery._lock:
            return method(gallery, *args, **kwargs)

    return run


def _from_store(method: Callable[Concatenate[FaceStore, P], R]
                ) -> Callable[Concatenate[Gallery, P], R]:
    """The store's ``method`` as a Gallery method, run on the gallery's store under its
    lock: its signature and docstring are the store's, said once."""
    name = method.__name__

    @functools.wraps(method)
    def run(gallery: Gallery, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with gallery._lock:
            return getattr(gallery._store, name)(*args, **kwargs)

    return run


class Gallery:
    """The people and faces of the database in folder ``path``: its store (SQLite,
    ``FaceStore``) and its search index, behind one lock.

    Every method holds the gallery's lock while it runs, so threads may share one
    Gallery (as the HTTP service's do). The store's reads and writes are the Gallery's
    as they are (``_from_store``); what is written here is what the store alone cannot
    do: search through the index, erase removed faces from every copy, and keep the
    open-set decision's templates between changes.

    Args:
        path: the database folder, or the address of a PostgreSQL database
            (``postgresql://USER@HOST[:PORT]/NAME``, see ``facerec.storage.postgres``),
            which many processes on many machines share: each keeps its index in memory
            and catches up from the change log before it answers.
        create: create the database if it does not exist (otherwise DatabaseError).
        check: look for damage on opening (see ``FaceStore``).

    Attributes:
        path: the database folder; None for a PostgreSQL database, which has none (what
            lives in a folder, the photo library and thumbnails, needs one).
        address: what names the database: the folder, or the PostgreSQL address.
    """

    def __init__(self, path: str | Path, create: bool = True, check: bool = True) -> None:
        self._store = open_store(path, create, check)
        self.address = str(path)
        self.path = None if is_postgres(path) else Path(path)
        self._index = LiveIndex(self._store, None if self.path is None
                                else self.path / "faces.index")
        self._templates: tuple[tuple[int, int, str], PeopleTemplates] | None = None
        self._lock = threading.RLock()
        self._follower: ChangeFollower | None = None

    def close(self) -> None:
        if self._follower is not None:  # first: it waits for the lock to catch up
            self._follower.stop()
            self._follower = None
        with self._lock:
            try:
                self._index.close()
            finally:
                self._store.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the store's reads and writes, as they are --------------------------------------------
    people = _from_store(FaceStore.people)
    has_people = _from_store(FaceStore.has_people)
    counts = _from_store(FaceStore.counts)
    count = _from_store(FaceStore.count)
    faces_of = _from_store(FaceStore.faces_of)
    face = _from_store(FaceStore.face)
    all_faces = _from_store(FaceStore.all_faces)
    case_twin = _from_store(FaceStore.case_twin)
    refuse_case_twin = _from_store(FaceStore.refuse_case_twin)
    rename = _from_store(FaceStore.rename)
    merge = _from_store(FaceStore.merge)
    claim_model = _from_store(FaceStore.claim_model)
    add_faces = _from_store(FaceStore.add_faces)
    claim_faces = _from_store(FaceStore.claim_faces)
    skips = _from_store(FaceStore.skips)
    record_skips = _from_store(FaceStore.record_skips)
    sources = _from_store(FaceStore.sources)
    holders = _from_store(FaceStore.holders)
    person_of = _from_store(FaceStore.person_of)
    changes_since = _from_store(FaceStore.changes_since)
    reject = _from_store(FaceStore.reject)
    forget_rejections = _from_store(FaceStore.forget_rejections)
    rejection_counts = _from_store(FaceStore.rejection_counts)
    settings = _from_store(FaceStore.settings)
    restore_settings = _from_store(FaceStore.restore_settings)
    set_open_set = _from_store(FaceStore.set_open_set)
    set_threshold = _from_store(FaceStore.set_threshold)

    @property
    @_serialized
    def writable(self) -> bool:
        return self._store.writable

    @property
    @_serialized
    def model(self) -> str | None:
        """The id of the model whose embeddings the database holds (None while empty)."""
        return self._store.model

    @property
    @_serialized
    def generation(self) -> int:
        """The change-log position of the enrolled faces (see ``FaceStore``)."""
        return self._store.generation

    @property
    @_serialized
    def calibrated_threshold(self) -> float | None:
        """The threshold ``facerec calibrate`` stored for this database, if any."""
        return self._store.calibrated_threshold

    # removing, everywhere -----------------------------------------------------------------
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
        if self.path is None:  # a server's database keeps the crops in a table
            erased.thumbnails = self._server_store().forget_thumbnails(digests)
        else:  # the copies a database folder keeps
            still_held = set(self._store.holders(digests))
            erased.thumbnails = delete_thumbnails(self.path, [d for d in digests
                                                              if d not in still_held])
            erase_from_backups(self.path, digests, gone, erased)
        erased.log_truncated = self._store.truncate_log()
        return erased

    # face crops (thumbnails) ---------------------------------------------------------------
    @_serialized
    def kept_thumbnail(self, sha256: str) -> bytes | None:
        """The kept crop of the face from the photo with ``sha256``: a file in the
        database folder, or a row of a server's database (shared by every process)."""
        if self.path is None:
            return self._server_store().thumbnail(sha256)
        path = thumbnail_file(self.path, sha256)
        return path.read_bytes() if path.is_file() else None

    @_serialized
    def keep_thumbnail(self, sha256: str, jpeg: bytes) -> None:
        """Keep the crop of a face enrolled from the photo with ``sha256`` (OSError when
        a database folder cannot be written)."""
        if self.path is None:
            self._server_store().keep_thumbnail(sha256, jpeg)
            return
        path = thumbnail_file(self.path, sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, jpeg)

    def _server_store(self) -> PostgresFaceStore:
        return cast(PostgresFaceStore, self._store)

    # the index ----------------------------------------------------------------------------
    def follow_changes(self, poll: float = POLL) -> None:
        """Keep this process's memory in step with a shared database while it answers
        nothing: a PostgreSQL database's writes, made by any process, are caught up at
        once (see ``facerec.storage.follower``), so a face removed anywhere leaves this
        process's index and templates within a moment (and at most ``poll`` seconds
        after a notification lost with the connection). A database folder needs no
        following (its one server learns of each change at its next search)."""
        if self.path is None and self._follower is None:
            self._follower = ChangeFollower(self.address, self.catch_up, poll)

    @_serialized
    def catch_up(self) -> None:
        """Bring the index in step with the database now, and drop the templates when
        what they are made of changed (they are read again when next needed)."""
        self._index.current()
        if self._templates is not None and self._templates[0] != self._store.decision_key:
            self._templates = None

    @property
    @_serialized
    def held_generation(self) -> int:
        """The change-log position the index in memory reflects, without catching up
        (-1 before it was first read)."""
        return self._index.position

    @_serialized
    def load_index(self) -> None:
        """Load (or build) the search index now, so the first search is not slow."""
        self._index.current()

    @_serialized
    def search(self, embeddings: np.ndarray, k: int
               ) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """The k nearest faces of each (Q, D) embedding: similarities (Q, k'), face ids
        (Q, k') (-1: none) and the person of each enrolled id among them."""
        sims, ids = self._index.search(embeddings, k)
        return sims, ids, self._store.person_of(np.unique(ids[ids >= 0]))

    @_serialized
    def check(self) -> tuple[int, int]:
        """(faces in SQLite, faces in the index); they agree once the index caught up."""
        index = self._index.current()
        return self._store.count(), 0 if index is None else len(index)

    # the open-set decision ----------------------------------------------------------------
    @_serialized
    def templates(self) -> PeopleTemplates:
        """Every person's faces and rejected faces (see ``templates``), read
        again only when the database changed, by this process or another."""
        key = self._store.decision_key
        if self._templates is None or self._templates[0] != key:
            self._templates = (key, self._store.templates())
        return self._templates[1]
