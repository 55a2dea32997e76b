"""One model on a labelled folder: threshold chosen on the validation people, figures
reported on the test people (verification and open-set identification), and the most
confident mistakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facerec.evaluation.dataset import FaceSet
from facerec.evaluation.metrics import (
    OpenSet,
    RocCurve,
    accept_rate,
    accuracy,
    best_accuracy_threshold,
    equal_error_rate,
    open_set,
    roc_curve,
    tar_at_far,
    threshold_for_far,
)
from facerec.evaluation.pairs import all_pairs
from facerec.evaluation.strangers import open_set_figures
from facerec.types import Detection

FARS = (1e-1, 1e-2, 1e-3, 1e-4)
FPIRS = (1e-2, 1e-3)
MISTAKES = 8


@dataclass(frozen=True)
class Mistake:
    """A pair judged wrong at the threshold the mistakes are shown at."""

    kind: str  # "false accept" or "false reject"
    similarity: float
    people: tuple[str, str]
    photos: tuple[Path, Path]
    detections: tuple[Detection, Detection]

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "similarity": round(self.similarity, 4),
                "people": list(self.people), "photos": [str(p) for p in self.photos]}


@dataclass
class ModelEvaluation:
    """Everything measured for one model (see ``evaluate``)."""

    model: str
    default_threshold: float
    target_far: float
    figures: dict[str, Any] = field(default_factory=dict)
    roc: RocCurve | None = None
    identification: OpenSet | None = None
    genuine: np.ndarray = field(default_factory=lambda: np.zeros(0))
    impostor: np.ndarray = field(default_factory=lambda: np.zeros(0))
    recommended_threshold: float | None = None
    mistakes_threshold: float = 0.0
    mistakes: list[Mistake] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        recommended = self.recommended_threshold
        return {"model": self.model, "default_threshold": self.default_threshold,
                "target_far": self.target_far,
                "recommended_threshold": None if recommended is None else round(recommended, 4),
                **self.figures, "mistakes_threshold": round(self.mistakes_threshold, 4),
                "mistakes": [m.to_dict() for m in self.mistakes]}


def evaluate(model: str, default_threshold: float, validation: FaceSet, test: FaceSet,
             target_far: float = 1e-3, stranger_share: float = 0.2, seed: int = 0
             ) -> ModelEvaluation:
    """Choose thresholds on ``validation`` and report ``test``.

    Two thresholds come from the validation pairs, for two questions: the *chosen* one
    is the most accurate on them (how well the model separates these people at its
    best), the *recommended* one the lowest that keeps the false-accept rate at
    ``target_far`` (a pair threshold to fix by hand), recommended only when the
    validation people give enough impostor pairs to measure that rate (10 /
    ``target_far``; None otherwise). On the test set: TAR at FAR 1e-1..1e-4 (where
    there are enough impostor pairs), the equal error rate, accuracy at the model's
    default and at the chosen threshold, the FAR and TAR at the recommended one; the
    most confident mistakes at the recommended threshold, or at the chosen one when
    there is none; and open-set identification, with each known person's first photo
    enrolled and ``stranger_share`` of the people with two or more photos held out as
    strangers (with everyone who has one photo).
    """
    result = ModelEvaluation(model, default_threshold, target_far)
    held = all_pairs(validation.embeddings, validation.labels, seed)
    pairs = all_pairs(test.embeddings, test.labels, seed)
    genuine, impostor = pairs.genuine, pairs.impostor
    result.genuine, result.impostor = genuine, impostor
    if not (len(held.genuine) and len(held.impostor) and len(genuine) and len(impostor)):
        result.figures["error"] = "each set needs two people and a person with two photos"
        return result
    chosen = best_accuracy_threshold(held.genuine, held.impostor)
    reliable = len(held.impostor) >= 10 / target_far
    recommended = threshold_for_far(held.impostor, target_far) if reliable else None
    result.recommended_threshold = recommended
    result.mistakes_threshold = chosen if recommended is None else recommended
    eer, eer_threshold = equal_error_rate(genuine, impostor)
    result.roc = roc_curve(genuine, impostor)
    result.figures["verification"] = {
        "validation_pairs": {"genuine": len(held.genuine), "impostor": len(held.impostor)},
        "test_pairs": {"genuine": len(genuine), "impostor": len(impostor)},
        "tar_at_far": {f"{far:g}": tar_at_far(genuine, impostor, far) for far in FARS},
        "eer": eer, "eer_threshold": eer_threshold,
        "accuracy_at_default": accuracy(genuine, impostor, default_threshold),
        "chosen_threshold": chosen,
        "accuracy_at_chosen": accuracy(genuine, impostor, chosen),
        "recommended": {"threshold": recommended, "reliable": reliable,
                        "far_on_test": None if recommended is None
                        else accept_rate(impostor, recommended),
                        "tar_on_test": None if recommended is None
                        else accept_rate(genuine, recommended)},
    }
    gallery, probes, strangers = split_open_set(test, stranger_share, seed)
    result.identification = open_set(test.embeddings[gallery], test.labels[gallery],
                                     test.embeddings[probes], test.labels[probes])
    ident = result.identification
    result.figures["identification"] = {
        "known_probes": len(ident.known_best), "strangers": len(ident.stranger_best),
        "rank1": ident.rank1, "cmc": [round(float(v), 4) for v in ident.cmc],
        "dir_at_fpir": {f"{fpir:g}": _dir(ident, fpir) for fpir in FPIRS},
    }
    known = [i for i in probes if test.labels[i] in set(test.labels[gallery])]
    result.figures["open_set"] = open_set_figures(
        model, _subset(test, gallery), _subset(test, known), _subset(test, strangers))
    result.mistakes = worst_mistakes(test, pairs, result.mistakes_threshold)
    return result


def _dir(ident: OpenSet, fpir: float) -> dict[str, float] | None:
    found = ident.dir_at_fpir(fpir)
    return None if found is None else {"dir": found[0], "threshold": found[1]}


def split_open_set(test: FaceSet, stranger_share: float, seed: int
                   ) -> tuple[list[int], list[int], list[int]]:
    """(gallery, probes, strangers) indices of ``test``: each known person's first photo
    is enrolled, ``stranger_share`` of the people with two or more photos are held out
    (with everyone who has one photo); probes are every photo not enrolled, strangers
    those of people not enrolled."""
    people, counts = np.unique(test.labels, return_counts=True)
    several = sorted(people[counts >= 2])
    rng = np.random.default_rng(seed + 1)
    held_out = set(rng.choice(several, int(round(stranger_share * len(several))),
                              replace=False)) if several else set()
    known = [p for p in several if p not in held_out]
    order = sorted(range(len(test.labels)), key=lambda i: str(test.paths[i]))
    gallery, probes, seen = [], [], set()
    for i in order:
        person = test.labels[i]
        if person in known and person not in seen:
            gallery.append(i)
            seen.add(person)
        else:
            probes.append(i)
    strangers = [i for i in probes if test.labels[i] not in seen]
    return gallery, probes, strangers


def _subset(faces: FaceSet, rows: list[int]) -> FaceSet:
    return FaceSet(faces.labels[rows], [faces.paths[i] for i in rows],
                   [faces.detections[i] for i in rows], faces.embeddings[rows])


def worst_mistakes(test: FaceSet, pairs, threshold: float, count: int = MISTAKES
                   ) -> list[Mistake]:
    """The false accepts with the highest similarity and the false rejects with the
    lowest, at ``threshold``."""
    out = []
    accepts = np.flatnonzero(~pairs.same & (pairs.similarity >= threshold))
    rejects = np.flatnonzero(pairs.same & (pairs.similarity < threshold))
    for kind, chosen in (("false accept", accepts[np.argsort(-pairs.similarity[accepts])]),
                         ("false reject", rejects[np.argsort(pairs.similarity[rejects])])):
        for k in chosen[:count]:
            a, b = pairs.first[k], pairs.second[k]
            out.append(Mistake(kind, float(pairs.similarity[k]),
                               (str(test.labels[a]), str(test.labels[b])),
                               (test.paths[a], test.paths[b]),
                               (test.detections[a], test.detections[b])))
    return out
