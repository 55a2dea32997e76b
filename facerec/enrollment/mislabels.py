"""Faces that look enrolled under the wrong name."""

from __future__ import annotations

import numpy as np

from facerec.results import Skip
from facerec.storage.gallery import Gallery

MISLABEL_CHECK_LIMIT = 100_000
"""Above this many faces the check is not made (it compares every face with every person)."""


def suspicious_faces(gallery: Gallery, sources: set[str] | None = None) -> list[Skip]:
    """Faces closer to another person's faces than to the rest of their own person's.

    Compares each face's mean similarity to its own person's other faces with its mean
    similarity to each other person's faces. ``sources`` limits the check to those
    photos. Skipped above ``MISLABEL_CHECK_LIMIT`` faces.
    """
    if sources is not None and not sources:
        return []
    count = gallery.count()
    if count > MISLABEL_CHECK_LIMIT or count < 3:
        return []
    records = gallery.all_faces()
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
            own = owner[row]
            if counts[own] < 2:
                continue
            means = row_sums / counts
            means[own] = (row_sums[own] - 1.0) / (counts[own] - 1)
            others = np.where(np.arange(len(people)) == own, -np.inf, means)
            other = int(np.argmax(others))
            if means[other] > means[own]:
                flagged.append(Skip(records[row].source,
                                    f"enrolled as {records[row].person!r} but closer to "
                                    f"{str(people[other])!r} ({means[other]:.2f} vs "
                                    f"{means[own]:.2f})"))
    return flagged
