"""Keeping every library face matched to the enrolled faces, from stored embeddings only.

Each library face remembers its nearest enrolled face and their similarity, when that
similarity reaches the library's **floor** (the threshold in force less ``MARGIN``, so a
threshold lowered a little later needs no work). Who a face is follows at the moment of
asking (``Library``): the nearest face's person when the similarity reaches the
threshold.

The library also remembers the gallery's change-log position it is matched at, and
catches up from there (``catch_up``):

* enrolled faces **added** since: the library faces at the floor or nearer to one of
  them (one pass over the vector file) take it when it beats their match; nothing else
  is touched, so one more person costs a scan of the vectors and a few updates;
* enrolled faces **removed** since (a person removed, a photo re-enrolled): the library
  faces matched to them search the gallery again;
* renames and merges change no face id, and need nothing.

When the log no longer reaches back, the library's model changed, or the threshold
fell below the floor, every face searches the gallery again (``rematch_all``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from facerec.storage.gallery import Gallery
from facerec.storage.library_store import LibraryStore
from facerec.storage.library_vectors import LibraryVectors
from facerec.storage.store import Delta

MARGIN = 0.03
"""How far below the threshold a match is still recorded."""

SEARCH_BATCH = 50_000
"""Library faces searched in the gallery at once when re-matching all of them."""


@dataclass(frozen=True)
class CatchUp:
    """What one catch-up did: ``rematched`` faces whose match changed or was looked up
    again, and whether every face was (``full``)."""

    rematched: int
    full: bool


class LibraryMatcher:
    """Matches a library's faces to one gallery.

    Args:
        store, vectors: the library.
        gallery: the enrolled faces.
    """

    def __init__(self, store: LibraryStore, vectors: LibraryVectors, gallery: Gallery
                 ) -> None:
        self.store = store
        self.vectors = vectors
        self.gallery = gallery

    @property
    def floor(self) -> float | None:
        """The similarity a recorded match reaches (None before the first match)."""
        stored = self.store.get_meta("match_floor")
        value = None if stored is None else float(stored)
        if value is None or math.isnan(value):  # nan: a re-match of every face was cut off
            return None
        return value

    def nearest(self, embeddings: np.ndarray, floor: float
                ) -> list[tuple[int | None, float | None]]:
        """(nearest enrolled face id, similarity) per (N, D) embedding, or (None, None)
        when none is at ``floor`` or nearer."""
        if not len(embeddings):
            return []
        sims, ids, _ = self.gallery.search(np.asarray(embeddings, np.float32), 1)
        return [(int(i), float(s)) if i >= 0 and s >= floor else (None, None)
                for s, i in zip(sims[:, 0], ids[:, 0])]

    def catch_up(self, threshold: float) -> CatchUp:
        """Bring every face's match up to date with the gallery as it is now, for
        decisions at ``threshold``."""
        floor, position = self.floor, self.store.get_meta("gallery_generation")
        if floor is None or position is None or threshold - MARGIN < floor - 1e-9:
            return self.rematch_all(threshold - MARGIN)
        delta = self.gallery.changes_since(int(position))
        if delta is None:
            return self.rematch_all(floor)
        if delta.seq == int(position):
            return CatchUp(0, False)
        reached = {"gallery_generation": str(delta.seq)}
        rematched = self._removed(delta, floor) + self._added(delta, floor, reached)
        return CatchUp(rematched, False)

    def rematch_all(self, floor: float) -> CatchUp:
        """Search the gallery again for every library face, at ``floor``."""
        position = self.gallery.generation  # read first: later changes are caught up
        done = 0
        self.store.set_meta({"match_floor": "nan"})  # until every face was searched again
        for ids, embeddings in self.store.embeddings_after(0, SEARCH_BATCH):
            self._search_again(ids, embeddings, floor)
            done += len(ids)
        self.store.set_meta({"match_floor": repr(floor),
                             "gallery_generation": str(position)})
        return CatchUp(done, True)

    def _removed(self, delta: Delta, floor: float) -> int:
        orphaned = self.store.matched_to(delta.remove_ids)
        if not orphaned:
            return 0
        ids, embeddings = self.store.embeddings_of(orphaned)
        self._search_again(ids, embeddings, floor)
        return len(ids)

    def _search_again(self, ids: np.ndarray, embeddings: np.ndarray, floor: float) -> None:
        """Record the nearest enrolled face of library faces ``ids`` (N,) with
        ``embeddings`` (N, D), whatever they were matched to before."""
        self.store.set_matches((int(face), *match) for face, match
                               in zip(ids, self.nearest(embeddings, floor)))

    def _added(self, delta: Delta, floor: float, reached: dict[str, str]) -> int:
        """Offer the faces added to the library faces near them (recording ``reached``
        in the same write); how many took one."""
        if not len(delta.add_ids):
            self.store.set_meta(reached)
            return 0
        faces, sims, which = self.vectors.nearest(delta.add_embeddings, floor, self.store)
        return self.store.offer_matches(
            zip(faces.tolist(), delta.add_ids[which].tolist(), sims.tolist()), reached)
