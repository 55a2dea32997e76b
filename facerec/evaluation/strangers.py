"""Open-set figures of a labelled folder under the rule identify uses: how many strangers
get a name, how many enrolled people are named right, and how many get a wrong name."""

from __future__ import annotations

import numpy as np

from facerec.evaluation.dataset import FaceSet
from facerec.open_set import DEFAULT_FPIR
from facerec.recognition.matching import (
    Rule,
    embedder_of,
    identification_threshold,
    margin_of,
    match_faces,
)
from facerec.storage.templates import PeopleTemplates

TRUSTED_EVENTS = 10
"""A rate is reported as measured only where at least this many events were expected at
the target (so 1% needs 1,000 strangers)."""


def open_set_figures(model: str, gallery: FaceSet, probes: FaceSet, strangers: FaceSet,
                     fpir: float = DEFAULT_FPIR) -> dict[str, object]:
    """The decision identify makes (``facerec.recognition.matching``), with ``gallery`` enrolled:
    ``probes`` are other photos of enrolled people, ``strangers`` photos of people never
    enrolled. Quality is not checked (every face here was good enough to be found)."""
    templates = templates_of(gallery)
    spec = embedder_of(model)
    threshold = identification_threshold(None, fpir, {}, spec.impostors,
                                         float(spec.threshold or 0.0), templates.shape())
    rule = Rule(threshold, margin_of(spec.impostors, float(spec.threshold or 0.0)),
                check_quality=False)
    known = match_faces(probes.embeddings, probes.detections, templates, rule)
    others = match_faces(strangers.embeddings, strangers.detections, templates, rule)
    named_right = sum(m.person == label for m, label in zip(known, probes.labels))
    wrong = sum(m.known and m.person != label for m, label in zip(known, probes.labels))
    unsure = sum(m.status == "unsure" for m in known)
    strangers_named = sum(m.known for m in others)
    return {
        "people": len(templates.names), "faces": int(templates.counts.sum()),
        "threshold": threshold.value, "threshold_source": threshold.source, "fpir": fpir,
        "probes": len(known), "strangers": len(others),
        "named_right": _share(named_right, len(known)), "wrong_names": _share(wrong, len(known)),
        "unsure": _share(unsure, len(known)),
        "strangers_named": _share(strangers_named, len(others)),
        "trusted": len(others) * fpir >= TRUSTED_EVENTS,
    }


def templates_of(faces: FaceSet) -> PeopleTemplates:
    """The people of ``faces`` as a gallery holds them."""
    names, owner = np.unique(faces.labels.astype(str), return_inverse=True)
    return PeopleTemplates.of(tuple(str(n) for n in names), owner.astype(np.int64),
                              faces.embeddings)


def _share(count: int, total: int) -> float | None:
    return None if total == 0 else count / total
