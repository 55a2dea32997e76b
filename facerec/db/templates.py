"""What the open-set decision reads from a database: each person's mean face, their
faces, and the faces a user said are not them.

A person's score for a query face is its similarity to their *mean face*, the mean of
their unit-length embeddings (not normalised again: ``query @ mean`` is the mean of the
query's similarities to their faces). A *rejection* is a face a user marked "not this
person"; it is kept as a negative face of that person and erased with them.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .rows import NewFace


@dataclass(frozen=True)
class Rejection:
    """A face marked as not ``person``: from photo ``source`` (bytes ``sha256``), with its
    (D,) unit ``embedding``."""

    person: str
    source: str
    sha256: str
    embedding: np.ndarray


@dataclass(frozen=True)
class PeopleTemplates:
    """Every enrolled person's faces and mean face, and their rejected faces.

    Attributes:
        names: (P,) people, in id order.
        means: (P, D) float32 mean of each person's unit embeddings.
        counts: (P,) faces per person.
        faces: (F, D) float32 every enrolled face; ``face_owner`` (F,) its person's index.
        rejected: (R, D) float32 faces marked "not this person"; ``rejected_owner`` (R,)
            the index of the person they are not.
    """

    names: tuple[str, ...]
    means: np.ndarray
    counts: np.ndarray
    faces: np.ndarray
    face_owner: np.ndarray
    rejected: np.ndarray
    rejected_owner: np.ndarray

    def shape(self) -> dict[int, int]:
        """{faces per person: people}: what the open-set threshold is set for."""
        return dict(Counter(int(c) for c in self.counts))

    def faces_of(self, person: int) -> np.ndarray:
        """(k, D) the enrolled faces of the person at index ``person``."""
        return self.faces[self.face_owner == person]

    def rejected_of(self, person: int) -> np.ndarray:
        """(r, D) the faces marked as not the person at index ``person``."""
        return self.rejected[self.rejected_owner == person]


def read_templates(conn: sqlite3.Connection, dim: int | None) -> PeopleTemplates:
    """Build the templates from one consistent read of ``conn`` (``dim``: the embedding
    length, None while no face is enrolled)."""
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
    faces = _stacked([r[2] for r in rows], width)
    counts = np.bincount(owner, minlength=len(names)).astype(np.int64)
    means = np.zeros((len(names), width), np.float32)
    np.add.at(means, owner, faces)
    means /= np.maximum(counts, 1)[:, None]
    rejected_rows = [(order[pid], blob) for pid, blob in conn.execute(
        "SELECT person_id, embedding FROM rejections ORDER BY id") if pid in order]
    return PeopleTemplates(
        names=tuple(names), means=means, counts=counts, faces=faces, face_owner=owner,
        rejected=_stacked([b for _, b in rejected_rows], width),
        rejected_owner=np.array([i for i, _ in rejected_rows], dtype=np.int64))


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
