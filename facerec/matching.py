"""Naming a face from its nearest enrolled faces.

A person's score for a query face is the similarity of their **best** enrolled face (the
nearest one): one good photo is enough to be recognised, and one bad photo cannot drag a
correct match down; ``facerec calibrate`` measures the threshold for this same rule.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .names import UNKNOWN
from .results import Candidate, Match, Threshold
from .types import Detection


def rank_people(similarities: np.ndarray, face_ids: np.ndarray, person_of: dict[int, str],
                top_k: int) -> list[Candidate]:
    """Best similarity per person among one query's neighbours, top-k people first.
    A person's score is their nearest enrolled face: one good photo is enough, and a bad
    one cannot drag a correct match down; ``facerec calibrate`` measures this same rule."""
    best: dict[str, float] = {}
    for sim, face_id in zip(similarities, face_ids):
        person = person_of.get(int(face_id)) if face_id >= 0 else None
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


def threshold_rule(given: float | None, calibrated: float | None,
                   model: Callable[[], float]) -> Threshold:
    """The one threshold rule: ``given``, else the database's ``calibrated`` threshold,
    else the ``model``'s default (asked for only then)."""
    if given is not None:
        return Threshold(float(given), "given")
    if calibrated is not None:
        return Threshold(calibrated, "calibrated")
    return Threshold(model(), "model")
