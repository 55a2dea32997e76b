"""Naming a face: the open-set decision every way in takes.

A person's score for a face is the mean of its similarities to their two nearest enrolled
faces (their one face's for a person with one; ``db.templates``): two photos must agree,
so one odd photo, or one photo filed under the wrong name, names no one alone. The face
is answered

* ``unknown`` when it is too small or turned too far to be trusted (``quality``), or
  when no one's score reaches the threshold (``open_set``: the threshold that keeps the
  share of strangers given a name at a target for the people enrolled now);
* ``unsure``, naming no one and listing the candidates, when the next person's score is
  within ``margin`` of the best one's;
* the best person's name otherwise.

A person is passed over when the face is more like a face marked "not this person" than
like any of their own faces (``facerec correct --not``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from facerec.errors import CalibrationError
from facerec.faces.quality import poor_face_reason
from facerec.models.model_id import ModelId
from facerec.models.registry import DEFAULT_EMBEDDER, ModelSpec
from facerec.names import UNKNOWN
from facerec.open_set import DEFAULT_FPIR, ImpostorTails
from facerec.results import Candidate, Match, Threshold
from facerec.storage.gallery import Gallery
from facerec.storage.templates import PeopleTemplates
from facerec.types import Detection


@dataclass(frozen=True)
class Rule:
    """How faces are decided against one gallery.

    Attributes:
        threshold: the score a person must reach, and where it came from.
        margin: how far ahead of the next person the best must be to be named.
        check_quality: answer ``unknown`` for faces too small or turned to be trusted.
    """

    threshold: Threshold
    margin: float
    check_quality: bool = True


def embedder_of(model_id: str | None) -> ModelSpec:
    """The registry entry of the embedder that made a database's embeddings (the default
    one for an empty database); ``+flip`` ids share their model's entry."""
    return ModelId.parse(model_id or DEFAULT_EMBEDDER).spec


def gallery_rule(gallery: Gallery, given: float | Threshold | None = None,
                 fpir: float | None = None, check_quality: bool = True
                 ) -> tuple[Rule, PeopleTemplates]:
    """The rule for identifying faces against ``gallery`` as it is now, and the people
    it decides between. A ``Threshold`` given is used as it is."""
    templates = gallery.templates()
    spec = embedder_of(gallery.model)
    pair = float(spec.threshold or 0.0)
    threshold = given if isinstance(given, Threshold) else identification_threshold(
        given, fpir, gallery.settings(), spec.impostors, pair, templates.shape())
    return Rule(threshold, margin_of(spec.impostors, pair), check_quality), templates


def match_faces(embeddings: Sequence[np.ndarray] | np.ndarray,
                detections: Sequence[Detection], templates: PeopleTemplates, rule: Rule,
                top_k: int = 3, score: str | None = None) -> list[Match]:
    """Decide every face from its (D,) embedding (``decide``); ``score`` names another
    way of scoring people than facerec's (``db.templates.SCORES``, for comparing them)."""
    if not len(embeddings):
        return []
    queries = np.asarray(np.stack(list(embeddings)), dtype=np.float32)
    scores = templates.person_scores(queries, score)
    return [decide(d, q, s, templates, rule, top_k)
            for d, q, s in zip(detections, queries, scores)]


def identification_threshold(given: float | None, fpir: float | None,
                             settings: Mapping[str, str], tails: ImpostorTails | None,
                             pair_threshold: float, shape: Mapping[int, int]) -> Threshold:
    """The threshold for identifying faces against a gallery of ``shape``
    ({faces per person: people}).

    ``given`` fixes it by hand; so does a threshold stored with ``calibrate --set``.
    Otherwise it is the open-set threshold for the share ``fpir`` of strangers named (the
    database's calibrated target, else ``DEFAULT_FPIR``), raised by the calibration's
    adjustment, and never below the model's ``pair_threshold`` nor a threshold an earlier
    ``calibrate`` measured for pairs.
    """
    people = sum(shape.values())
    faces = sum(k * n for k, n in shape.items())
    if fpir is not None and not 0.0 < fpir < 1.0:
        raise CalibrationError(f"the share of strangers named must be between 0 and 1, "
                               f"not {fpir}")
    if given is not None:
        return Threshold(float(given), "given", people=people, faces=faces)
    stored = stored_threshold(settings)
    if stored is not None and stored[1] == "set":
        return Threshold(stored[0], "calibrated", people=people, faces=faces)
    target = float(fpir if fpir is not None else settings.get("fpir") or DEFAULT_FPIR)
    floor = max(pair_threshold, stored[0] if stored is not None else -1.0)
    if tails is None or not people:
        return Threshold(floor, "model", fpir=target, people=people, faces=faces)
    open_set = tails.threshold(shape, target) + float(settings.get("fpir_offset") or 0.0)
    if open_set <= floor:
        return Threshold(floor, "model", fpir=target, people=people, faces=faces)
    return Threshold(round(open_set, 4), "open-set", fpir=target, people=people, faces=faces)


def stored_threshold(settings: Mapping[str, str]) -> tuple[float, str] | None:
    """(threshold, how) stored by ``facerec calibrate``: ``set`` by hand, else measured
    on pairs (an earlier version's calibration), or None."""
    value = settings.get("threshold")
    if value is None:
        return None
    try:
        how = json.loads(settings.get("calibration") or "{}").get("method", "pairs")
    except (ValueError, AttributeError):
        how = "pairs"
    return float(value), "set" if how == "set" else "pairs"


def margin_of(tails: ImpostorTails | None, pair_threshold: float) -> float:
    """How far ahead the best person must be: one decade of the model's impostor tail
    (the score a ten times rarer impostor reaches), so the margin means the same for
    every model whatever the spread of its similarities."""
    if tails is None:
        return 0.05 * max(1.0 - pair_threshold, 0.1)
    return tails.for_faces(1).per_decade


def decide(detection: Detection, embedding: np.ndarray, scores: np.ndarray,
           templates: PeopleTemplates, rule: Rule, top_k: int) -> Match:
    """The answer for one face: its (D,) embedding and its (P,) scores against
    ``templates``' people."""
    order = np.argsort(-scores, kind="stable")
    candidates = tuple(Candidate(templates.names[i], float(scores[i]))
                       for i in order[:top_k])
    if not len(order):
        return Match(detection, UNKNOWN, -1.0, (), "unknown", "nobody is enrolled")
    if rule.check_quality and (poor := poor_face_reason(detection)) is not None:
        return Match(detection, UNKNOWN, float(scores[order[0]]), candidates, "unknown",
                     poor)
    threshold = rule.threshold.value
    passed_over: list[str] = []
    contenders: list[int] = []
    for i in order:
        if scores[i] < threshold - rule.margin or len(contenders) == 2:
            break
        if _rejected(embedding, templates, int(i)):
            passed_over.append(templates.names[i])
        else:
            contenders.append(int(i))
    best = contenders[0] if contenders else int(order[0])
    score = float(scores[best])
    if not contenders or score < threshold:
        reason = (f"no one enrolled is similar enough ({templates.names[best]} "
                  f"{score:.3f}, needs {threshold:.3f})")
        if passed_over:
            reason += f"; marked as not {', '.join(passed_over)}"
        return Match(detection, UNKNOWN, score, candidates, "unknown", reason)
    if len(contenders) > 1 and score - float(scores[contenders[1]]) < rule.margin:
        second = templates.names[contenders[1]]
        return Match(detection, UNKNOWN, score, candidates, "unsure",
                     f"{templates.names[best]} or {second}: "
                     f"{score:.3f} against {float(scores[contenders[1]]):.3f}")
    return Match(detection, templates.names[best], score, candidates, "known", None)


def _rejected(embedding: np.ndarray, templates: PeopleTemplates, person: int) -> bool:
    """Whether the face is more like a face marked as not this person than like any of
    the person's own faces."""
    rejected = templates.rejected_of(person)
    if not len(rejected):
        return False
    return float((rejected @ embedding).max()) > float(
        (templates.faces_of(person) @ embedding).max())


def threshold_rule(given: float | None, calibrated: float | None,
                   model: Callable[[], float]) -> Threshold:
    """The threshold for a pair of faces: ``given``, else the database's ``calibrated``
    threshold, else the ``model``'s default (asked for only then)."""
    if given is not None:
        return Threshold(float(given), "given")
    if calibrated is not None:
        return Threshold(calibrated, "calibrated")
    return Threshold(model(), "model")
