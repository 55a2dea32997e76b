"""Calibrating a database: the open-set rule for a share of strangers named
(``calibrate_strangers``, what ``facerec calibrate`` does), and a pair threshold for a
false-accept rate measured on the enrolled faces themselves (``calibrate``).

For the pair threshold, genuine pairs are two faces of the same person and impostor pairs
faces of two different people; the threshold is the lowest similarity that lets through
at most ``far`` of the impostor pairs, and the genuine pairs say how many true matches it
keeps. Stored, it is a floor the open-set threshold never goes below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from facerec.errors import CalibrationError, DatabaseError
from facerec.evaluation.metrics import threshold_for_far
from facerec.evaluation.pairs import all_pairs
from facerec.storage.gallery import Gallery
from facerec.storage.templates import PeopleTemplates


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold and the figures it came from."""

    threshold: float
    far: float
    genuine_pairs: int
    impostor_pairs: int
    true_accept_rate: float
    genuine_mean: float
    impostor_mean: float
    reliable: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def calibrate(embeddings: np.ndarray, labels: np.ndarray, far: float,
              seed: int = 0) -> Calibration:
    """Threshold for false-accept rate ``far`` from (N, D) unit embeddings and (N,) labels.

    ``reliable`` is False when there are fewer than 10 / far impostor pairs or fewer
    than 20 genuine pairs: the figures are then too thin to trust.
    """
    if not 0.0 < far < 1.0:
        raise CalibrationError("far must be between 0 and 1")
    pairs = all_pairs(embeddings, labels, seed)
    genuine, impostor = pairs.genuine, pairs.impostor
    if len(impostor) == 0 or len(genuine) == 0:
        raise CalibrationError("calibration needs at least two people, one with two faces")
    threshold = threshold_for_far(impostor, far)
    return Calibration(
        threshold=threshold, far=far, genuine_pairs=len(genuine),
        impostor_pairs=len(impostor),
        true_accept_rate=float(np.mean(genuine >= threshold)),
        genuine_mean=float(genuine.mean()), impostor_mean=float(impostor.mean()),
        reliable=len(impostor) >= 10 / far and len(genuine) >= 20)


def calibrate_gallery(gallery: Gallery, far: float, force: bool = False) -> Calibration:
    """Measure the threshold for false-accept rate ``far`` on the faces enrolled in
    ``gallery`` and store it there when enough pairs back it (or ``force``)."""
    records = gallery.all_faces()
    if not records:
        raise DatabaseError("nobody is enrolled; calibration needs enrolled faces")
    result = calibrate(np.stack([r.embedding for r in records]),
                       np.array([r.person for r in records]), far)
    if result.reliable or force:
        gallery.set_threshold(result.threshold, result.to_dict())
    return result


@dataclass(frozen=True)
class StrangerCalibration:
    """The open-set rule set for one database (``calibrate_strangers``).

    Attributes:
        fpir: the share of strangers that may be given a name.
        threshold: the threshold that keeps it for the people enrolled now (it moves as
            people are enrolled or removed).
        people, faces: enrolled now.
        own_pairs: pairs of an enrolled face and another enrolled person (scored as
            identify scores them).
        checked_rate: the impostor rate at which the database's own faces were compared
            with the model's table (None: too few pairs to check it).
        own_similarity, table_similarity: the similarity the own pairs and the table
            reach at that rate.
        offset: how much the threshold is raised because the own faces look more alike
            than the table says (0 when they do not, or could not be checked).
    """

    fpir: float
    threshold: float
    people: int
    faces: int
    own_pairs: int
    checked_rate: float | None
    own_similarity: float | None
    table_similarity: float | None
    offset: float

    def to_dict(self) -> dict[str, object]:
        return {"method": "open-set", **asdict(self)}


CHECK_RATE = 1e-2
"""The impostor rate at which a database's own pairs are compared with the model's table."""

MIN_OWN_EVENTS = 10
"""Own pairs must put at least this many above ``CHECK_RATE`` for it to be checked (so
1,000 pairs)."""


def calibrate_strangers(gallery: Gallery, fpir: float) -> StrangerCalibration:
    """Set the database's open-set rule for the share ``fpir`` of strangers named: from
    the model's impostor table, raised where the database's own people look more alike
    than the table says (checked at ``CHECK_RATE`` when their pairs can measure it).
    Stored; a threshold fixed by hand before is dropped."""
    from facerec.recognition.matching import embedder_of, identification_threshold

    if not 0.0 < fpir < 1.0:
        raise CalibrationError("the share of strangers must be between 0 and 1")
    templates = gallery.templates()
    if not templates.names:
        raise DatabaseError("nobody is enrolled; calibration needs enrolled faces")
    spec = embedder_of(gallery.model)
    tails = spec.impostors
    if tails is None:
        raise CalibrationError(f"{spec.name} has no impostor table")
    own = _own_impostor_scores(templates)
    rate = CHECK_RATE if len(own) * CHECK_RATE >= MIN_OWN_EVENTS else None
    ordered = np.sort(own)[::-1]
    checked = None if rate is None else (
        float(ordered[int(rate * len(own))]),
        tails.for_faces(min(int(np.median(templates.counts)), len(tails.by_faces)))
        .similarity_at(rate))
    offset = 0.0 if checked is None else round(max(0.0, checked[0] - checked[1]), 4)
    settings = {"fpir": repr(fpir), "fpir_offset": repr(offset)}
    threshold = identification_threshold(None, fpir, settings, tails,
                                         float(spec.threshold or 0.0), templates.shape())
    result = StrangerCalibration(
        fpir=fpir, threshold=threshold.value, people=len(templates.names),
        faces=int(templates.counts.sum()), own_pairs=len(own), checked_rate=rate,
        own_similarity=None if checked is None else round(checked[0], 4),
        table_similarity=None if checked is None else round(checked[1], 4), offset=offset)
    gallery.set_open_set(fpir, offset, result.to_dict())
    return result


def _own_impostor_scores(templates: PeopleTemplates) -> np.ndarray:
    """The rule's score of every enrolled face for every other person."""
    if len(templates.names) < 2:
        return np.zeros(0, np.float32)
    scores = templates.person_scores(templates.faces).astype(np.float64)
    scores[np.arange(len(scores)), templates.face_owner] = np.nan
    flat = scores.ravel()
    return flat[~np.isnan(flat)]
