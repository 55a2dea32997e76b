"""What the open-set decision reads from a database: each person's faces, and the faces
a user said are not them.

A person's score for a query face is the mean of its similarities to their two nearest
faces (``person_scores``; their one face's for a person with one). A *rejection* is a
face a user marked "not this person"; it is kept as a negative face of that person and
erased with them.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

import numpy as np

from facerec.storage.rows import NewFace


@dataclass(frozen=True)
class PeopleTemplates:
    """Every enrolled person's faces, and their rejected faces.

    Attributes:
        names: (P,) people, in id order.
        counts: (P,) faces per person (each at least one).
        faces: (F, D) float32 every enrolled face, grouped by person in ``names`` order;
            ``face_owner`` (F,) its person's index (non-decreasing).
        rejected: (R, D) float32 faces marked "not this person"; ``rejected_owner`` (R,)
            the index of the person they are not.
    """

    names: tuple[str, ...]
    counts: np.ndarray
    faces: np.ndarray
    face_owner: np.ndarray
    rejected: np.ndarray
    rejected_owner: np.ndarray

    @classmethod
    def of(cls, names: tuple[str, ...], owner: np.ndarray, faces: np.ndarray,
           rejected: np.ndarray | None = None, rejected_owner: np.ndarray | None = None
           ) -> PeopleTemplates:
        """Templates from (F,) owner indices into ``names`` and (F, D) faces, in any
        order (they are grouped here)."""
        order = np.argsort(owner, kind="stable")
        dim = faces.shape[1] if faces.ndim == 2 else 0
        return cls(names, np.bincount(owner, minlength=len(names)).astype(np.int64),
                   np.ascontiguousarray(faces[order], dtype=np.float32),
                   owner[order].astype(np.int64),
                   np.zeros((0, dim), np.float32) if rejected is None else rejected,
                   np.zeros(0, np.int64) if rejected_owner is None else rejected_owner)

    def person_scores(self, queries: np.ndarray, score: str | None = None) -> np.ndarray:
        """(Q, P) each (Q, D) query's score for each person by rule ``score`` (one of
        ``SCORES``; ``SCORE`` when None)."""
        if not len(self.names):
            return np.zeros((len(queries), 0), np.float32)
        sims = queries @ self.faces.T
        starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        return SCORES[score or SCORE](sims, starts, self.counts).astype(np.float32)

    def shape(self) -> dict[int, int]:
        """{faces per person: people}: what the open-set threshold is set for."""
        return dict(Counter(int(c) for c in self.counts))

    def faces_of(self, person: int) -> np.ndarray:
        """(k, D) the enrolled faces of the person at index ``person``."""
        return self.faces[self.face_owner == person]

    def rejected_of(self, person: int) -> np.ndarray:
        """(r, D) the faces marked as not the person at index ``person``."""
        return self.rejected[self.rejected_owner == person]


def nearest_score(sims: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The similarity to the person's nearest face ((Q, F) grouped by person -> (Q, P))."""
    return np.maximum.reduceat(sims, starts, axis=1)


def two_nearest_score(sims: np.ndarray, starts: np.ndarray, counts: np.ndarray
                      ) -> np.ndarray:
    """The mean similarity to the person's two nearest faces (their one face's)."""
    best = np.maximum.reduceat(sims, starts, axis=1)
    at_best = sims >= np.repeat(best, counts, axis=1)
    ties = np.add.reduceat(at_best, starts, axis=1) >= 2
    rest = np.maximum.reduceat(np.where(at_best, -np.inf, sims), starts, axis=1)
    second = np.where(ties, best, rest)
    return np.where(counts >= 2, (best + second) / 2, best)


def mean_score(sims: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The mean similarity to all the person's faces (to their mean face)."""
    return np.add.reduceat(sims, starts, axis=1) / counts


SCORES = {"nearest": nearest_score, "two-nearest": two_nearest_score, "mean": mean_score}
"""The ways of scoring a person from their faces that ``scripts/benchmark_open_set.py``
compares."""

SCORE = "two-nearest"
"""The one facerec decides by (chosen by that benchmark, docs/benchmarks.md)."""


def read_templates(conn: sqlite3.Connection, dim: int | None, rejections: bool = True
                   ) -> PeopleTemplates:
    """Build the templates from one consistent read of ``conn`` (``dim``: the embedding
    length, None while no face is enrolled; ``rejections``: whether it has the table)."""
    width = dim or 0
    rows = conn.execute("SELECT p.id, p.name, f.embedding FROM faces f JOIN people p "
                        "ON p.id = f.person_id ORDER BY p.id, f.id").fetchall()
    order: dict[int, int] = {}
    names: list[str] = []
    for person_id, name, _ in rows:
        if person_id not in order:
            order[person_id] = len(names)
            names.append(name)
    owner = np.fromiter((order[r[0]] for r in rows), dtype=np.int64, count=len(rows))
    rejected_rows = [(order[pid], blob) for pid, blob in conn.execute(
        "SELECT person_id, embedding FROM rejections ORDER BY id") if pid in order] \
        if rejections else []
    return PeopleTemplates.of(tuple(names), owner, _stacked([r[2] for r in rows], width),
                              _stacked([b for _, b in rejected_rows], width),
                              np.array([i for i, _ in rejected_rows], dtype=np.int64))


def has_rejections(conn: sqlite3.Connection) -> bool:
    """Whether the database has the rejections table (one made by an older facerec and
    opened read-only does not; it has no rejection either)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                        "name = 'rejections'").fetchone() is not None


def add_rejection(conn: sqlite3.Connection, person_id: int, face: NewFace, now: float
                  ) -> bool:
    """Keep ``face`` as not the person ``person_id``; False when that photo's face is
    already kept as not them (a second click changes nothing)."""
    if conn.execute("SELECT 1 FROM rejections WHERE person_id = ? AND sha256 = ? AND "
                    "source = ?", (person_id, face.sha256, face.source)).fetchone():
        return False
    conn.execute("INSERT INTO rejections(person_id, source, sha256, embedding, created) "
                 "VALUES(?, ?, ?, ?, ?)",
                 (person_id, face.source, face.sha256,
                  np.ascontiguousarray(face.embedding, dtype=np.float32).tobytes(), now))
    return True


def _stacked(blobs: list[bytes], width: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, width), np.float32)
    return np.stack([np.frombuffer(b, dtype=np.float32) for b in blobs])
