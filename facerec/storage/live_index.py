"""Keeping a database's FAISS index in step with its SQLite store, in place.

Before each search the index catches up with the store's change log: faces added since
are added, faces removed are removed (``FaceStore.delta``), so a write costs the index
only what it changed, and changes made by another process (the CLI beside a running
server) are picked up the same way. Renames and settings never touch it.

The index file is a cache: it is loaded with the log position it reflects and caught up
from there, saved when a good share of it changed since the last save (and when the
database closes), and rebuilt from SQLite when missing, unreadable, or older than the log
reaches. When it has outgrown its kind (``FaceIndex.stale``) a new one is built from a
snapshot on a background thread while searches go on with the old one, then caught up and
swapped in; a rebuild that fails is tried again only after a wait that doubles with each
failure (``RETRY_AFTER``), never on every search.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from facerec.storage.index import TRAINING_SAMPLE, FaceIndex
from facerec.storage.store import FaceStore

log = logging.getLogger(__name__)

SAVE_SHARE = 0.01
"""The index is saved once this share of its faces changed since the last save."""

LOG_KEPT = 100_000
"""Change-log entries kept behind the saved index, for other processes to catch up on."""

RETRY_AFTER = (60.0, 3600.0)
"""Seconds before a failed background rebuild is tried again: the first wait, doubled
after each further failure up to the second."""


class LiveIndex:
    """The index of ``store``, saved at ``path``.

    Args:
        store: the database's store (used by the caller's thread only).
        path: the index file (``faces.index``; its note is ``faces.json``); None keeps
            the index in memory only (a database on a server: each process builds its
            own when it starts, then catches up from the change log).
    """

    def __init__(self, store: FaceStore, path: Path | None) -> None:
        self.store = store
        self.path = path
        self._index: FaceIndex | None = None
        self._seq = -1
        self._unsaved = 0
        self._lock = threading.Lock()
        self._rebuild: threading.Thread | None = None
        self._rebuilt: tuple[FaceIndex, int] | None = None
        self._rebuild_error: str | None = None
        self._erasures = 0
        """Calls of ``erase``; a rebuild begun before the latest one is thrown away."""
        self._rebuild_from = 0
        self._retry_at = 0.0
        self._retry_wait = RETRY_AFTER[0]

    def current(self) -> FaceIndex | None:
        """The index, caught up with the store; None while no face is enrolled."""
        with self._lock:
            self._adopt_rebuilt()
            if self._index is None or not self._catch_up():
                self._open()
            if (self._index is not None and self._index.stale and self._rebuild is None
                    and time.monotonic() >= self._retry_at):
                self._start_rebuild()
            return self._index

    @property
    def position(self) -> int:
        """The change-log position the index reflects (-1 before it was first read)."""
        return self._seq

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k faces per (Q, D) query: similarities and ids, each (Q, k')."""
        index = self.current()
        if index is None:
            return (np.full((len(queries), k), -np.inf, np.float32),
                    np.full((len(queries), k), -1, np.int64))
        return index.search(queries, k)

    def erase(self) -> str:
        """Bring the index file in step with the store now, however little changed, so
        no removed face stays in it: ``"rewritten"``, ``"dropped"`` (an approximate index,
        which cannot delete in place, or one that could not be saved: the file is
        removed and the index rebuilt from SQLite when next needed) or ``"none"``."""
        index = self.current()
        with self._lock:
            self._erasures += 1  # a rebuild under way read the faces before they went
            if self.path is None:  # in memory: an exact index deleted them in place
                if index is not None and index.kind != "exact":
                    self._index, self._seq = None, -1
                return "none"
            if index is not None and index.kind == "exact" and self._save():
                return "rewritten"
            self._index, self._seq = None, -1
            existed = False
            for path in (self.path, self.path.with_suffix(".json")):
                try:
                    path.unlink()
                    existed = True
                except FileNotFoundError:
                    pass
            return "dropped" if existed or index is not None else "none"

    def close(self) -> None:
        """Finish a rebuild under way, and save what is not saved."""
        if self._rebuild is not None:
            self._rebuild.join()
        with self._lock:
            self._adopt_rebuilt()
            if self._index is not None and self._unsaved:
                self._save()

    # internals ----------------------------------------------------------------------------
    def _open(self) -> None:
        """Load the saved index and catch it up, or build one from SQLite."""
        self._index = None
        dim = self.store.embedding_size()
        if dim is None:
            return
        loaded = None if self.path is None else FaceIndex.load(self.path, dim)
        if loaded is not None:
            self._index, self._seq = loaded
            if not self._catch_up():
                self._index = None
        if self._index is None:
            self._index, self._seq = build(self.store, dim)
            log.debug("built the index from SQLite (%d faces)", len(self._index))
            self._unsaved = max(len(self._index), 1)
        if self._should_save():
            self._save()

    def _catch_up(self) -> bool:
        """Apply the changes since the index's log position; False when the log no
        longer reaches back that far (the index must be rebuilt)."""
        assert self._index is not None
        if self.store.generation == self._seq:
            return True
        delta = self.store.changes_since(self._seq)
        if delta is None:
            return False
        self._index.remove(delta.remove_ids)
        self._index.add(delta.add_ids, delta.add_embeddings)
        self._seq = delta.seq
        self._unsaved += len(delta.remove_ids) + len(delta.add_ids)
        if self._should_save():
            self._save()
        return True

    def _should_save(self) -> bool:
        return self._index is not None and self._unsaved >= max(1, SAVE_SHARE * len(self._index))

    def _save(self) -> bool:
        assert self._index is not None
        if self.path is not None:
            try:
                self._index.save(self.path, self._seq)
            except OSError as exc:  # a read-only database still answers from memory
                log.debug("could not save the index: %s", exc)
                return False
        self._unsaved = 0
        if self.store.writable and self._seq > LOG_KEPT * 2:
            pruned = int(self.store.get_meta("changes_pruned_through") or 0)
            if self._seq - pruned > LOG_KEPT * 2:
                self.store.prune_changes(self._seq - LOG_KEPT)
        return True

    def _start_rebuild(self) -> None:
        log.info("the face index has outgrown its kind; rebuilding it in the background")
        self._rebuild_from = self._erasures
        assert self._index is not None
        dim = self._index.dim  # read now: an erasure may drop the index as the thread starts

        def work() -> None:
            try:
                reader = self.store.reopened()
                try:
                    self._rebuilt = build(reader, dim)
                finally:
                    reader.close()
            except Exception as exc:  # the old index keeps serving
                self._rebuild_error = f"{type(exc).__name__}: {exc}"

        self._rebuild = threading.Thread(target=work, name="facerec-index-rebuild",
                                         daemon=True)
        self._rebuild.start()

    def _adopt_rebuilt(self) -> None:
        if self._rebuild is None or self._rebuild.is_alive():
            return
        self._rebuild = None
        if self._rebuilt is not None and self._rebuild_from != self._erasures:
            log.debug("dropped a rebuilt index that holds erased faces; building again")
            self._rebuilt = None
            return
        if self._rebuilt is None:
            self._back_off()
            return
        self._rebuild_error, self._retry_wait = None, RETRY_AFTER[0]
        (self._index, self._seq), self._rebuilt = self._rebuilt, None
        log.info("swapped in the rebuilt face index (%s, %d faces)", self._index.kind,
                 len(self._index))
        self._unsaved = max(len(self._index), 1)
        if not self._catch_up():
            self._open()
        elif self._unsaved:
            self._save()

    def _back_off(self) -> None:
        """After a failed rebuild: keep serving the old index, say why once, and try
        again only after a wait that doubles with each failure."""
        if self._retry_wait == RETRY_AFTER[0]:
            log.warning("rebuilding the face index failed (%s); searches go on with the "
                        "current one, and the rebuild is tried again in %.0f s",
                        self._rebuild_error, self._retry_wait)
        else:
            log.debug("rebuilding the face index failed again (%s)", self._rebuild_error)
        self._retry_at = time.monotonic() + self._retry_wait
        self._retry_wait = min(self._retry_wait * 2, RETRY_AFTER[1])


def build(store: FaceStore, dim: int) -> tuple[FaceIndex, int]:
    """A new index of every face of ``store``, and the log position it reflects.

    Faces are read in batches from one snapshot, so memory holds the index and one
    batch, not a second copy of every embedding.
    """
    count = store.count()
    index = FaceIndex(dim, size_hint=count)
    if index.kind == "approximate":
        index.train(store.sample_embeddings(TRAINING_SAMPLE))
    seq = store.generation
    for seq, ids, embeddings in store.embedding_batches():
        index.add(ids, embeddings)
    return index, seq
