"""Turning nearest faces into people: scoring, thresholds and the Match result.

A person's score for a query face is the similarity of their **best** enrolled face (the
nearest one). Best-face scoring keeps a person recognisable from any one good photo, and
one bad photo of theirs cannot drag a correct match down; ``facerec calibrate`` measures
the threshold for this same rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import Detection

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Candidate:
    person: str
    similarity: float


@dataclass(frozen=True)
class Match:
    """One face of a photo and who it is.

    Attributes:
        detection: where the face is.
        person: the best candidate's name when its similarity reaches the threshold,
            else ``"unknown"``.
        similarity: the best candidate's similarity (cosine, -1..1); -1 when the database
            is empty.
        candidates: the top-k people, best first, known or not.
    """

    detection: Detection
    person: str
    similarity: float
    candidates: tuple[Candidate, ...]

    @property
    def known(self) -> bool:
        return self.person != UNKNOWN

    def to_dict(self) -> dict[str, object]:
        return {**self.detection.to_dict(), "person": self.person,
                "similarity": round(self.similarity, 4),
                "candidates": [{"person": c.person, "similarity": round(c.similarity, 4)}
                               for c in self.candidates]}


def rank_people(similarities: np.ndarray, face_ids: np.ndarray, person_of: dict[int, str],
                top_k: int) -> list[Candidate]:
    """Best similarity per person among one query's neighbours, top-k people first."""
    best: dict[str, float] = {}
    for sim, face_id in zip(similarities, face_ids):
        if face_id < 0:
            continue
        person = person_of.get(int(face_id))
        if person is not None and float(sim) > best.get(person, -2.0):
            best[person] = float(sim)
    ranked = sorted(best.items(), key=lambda item: -item[1])[:top_k]
    return [Candidate(person, sim) for person, sim in ranked]


def decide(detection: Detection, candidates: list[Candidate], threshold: float) -> Match:
    """Name the face after its best candidate if that one reaches the threshold."""
    if not candidates:
        return Match(detection, UNKNOWN, -1.0, ())
    top = candidates[0]
    person = top.person if top.similarity >= threshold else UNKNOWN
    return Match(detection, person, top.similarity, tuple(candidates))
