"""The open-set decision on hand-made galleries: named, unsure, unknown with the reason,
people passed over for a rejected look-alike, and the threshold each rule gives."""

from __future__ import annotations

import numpy as np
import pytest

from facerec.names import UNKNOWN
from facerec.open_set import ImpostorTail, ImpostorTails
from facerec.recognition.matching import Rule, decide, identification_threshold, match_faces
from facerec.results import Threshold
from facerec.storage.templates import PeopleTemplates
from facerec.types import Detection

TAILS = ImpostorTails((ImpostorTail(pairs=10**7, per_decade=0.05, points=(
    (1e-1, 0.2), (1e-2, 0.3), (1e-3, 0.36), (1e-4, 0.41))),), "test")


def box(side: float = 80.0) -> Detection:
    return Detection((0.0, 0.0, side, side), ((20.0, 30.0), (60.0, 30.0), (40.0, 50.0),
                                              (25.0, 65.0), (55.0, 65.0)), 0.9)


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def gallery(people: dict[str, list[np.ndarray]],
            rejected: dict[str, list[np.ndarray]] | None = None) -> PeopleTemplates:
    names = tuple(people)
    faces = np.stack([f for n in names for f in people[n]])
    owner = np.array([i for i, n in enumerate(names) for _ in people[n]])
    rejected = rejected or {}
    rows = [(names.index(n), f) for n, fs in rejected.items() for f in fs]
    return PeopleTemplates.of(names, owner, faces,
                              np.array([f for _, f in rows], np.float32).reshape(-1, 4),
                              np.array([i for i, _ in rows], np.int64))


RULE = Rule(Threshold(0.5, "given"), margin=0.05)
ADA, BOB, CAL = unit(1, 0, 0, 0), unit(0, 1, 0, 0), unit(0, 0, 1, 0)


def answer(face: np.ndarray, templates: PeopleTemplates, rule: Rule = RULE,
           detection: Detection | None = None):
    return match_faces([face], [detection or box()], templates, rule)[0]


def test_a_face_close_to_one_person_is_named():
    found = answer(unit(1, 0.2, 0, 0), gallery({"ada": [ADA], "bob": [BOB]}))
    assert (found.person, found.status, found.reason) == ("ada", "known", None)
    assert [c.person for c in found.candidates] == ["ada", "bob"]


def test_a_face_like_no_one_is_unknown_with_the_reason():
    found = answer(unit(0.4, 0, 0, 1), gallery({"ada": [ADA], "bob": [BOB]}))
    assert (found.person, found.status) == (UNKNOWN, "unknown")
    assert "no one enrolled is similar enough" in found.reason and "ada" in found.reason


def test_two_people_nearly_as_close_is_unsure_and_names_no_one():
    found = answer(unit(1, 0.97, 0, 0), gallery({"ada": [ADA], "bob": [BOB]}))
    assert (found.person, found.status) == (UNKNOWN, "unsure")
    assert "ada" in found.reason and "bob" in found.reason
    assert {c.person for c in found.candidates[:2]} == {"ada", "bob"}


def test_a_person_scores_by_their_two_nearest_faces():
    face = unit(1, 0, 0, 0.3)
    far = unit(0, 0, 0, 1)
    templates = gallery({"ada": [far, ADA, unit(1, 0.5, 0, 0), far], "bob": [BOB]})
    scores = templates.person_scores(face[None, :])[0]
    assert scores[0] == pytest.approx((face @ ADA + face @ unit(1, 0.5, 0, 0)) / 2)
    assert scores[1] == pytest.approx(face @ BOB)  # one face: its own similarity
    # one odd photo alone does not name: a stranger equal to it is still unknown
    odd = unit(0, 0, 1, 0)
    strict = Rule(Threshold(0.6, "given"), margin=0.05)
    assert answer(odd, gallery({"ada": [ADA, odd]}), strict).person == UNKNOWN
    # two identical faces count twice
    twice = gallery({"ada": [ADA, ADA, far]})
    assert twice.person_scores(ADA[None, :])[0, 0] == pytest.approx(1.0)


def test_a_face_more_like_a_rejected_face_than_the_person_is_not_given_that_name():
    look_alike = unit(1, 0, 0.45, 0)
    templates = gallery({"ada": [ADA], "bob": [BOB]}, rejected={"ada": [look_alike]})
    found = answer(unit(1, 0, 0.5, 0), templates)
    assert found.person == UNKNOWN and "marked as not ada" in found.reason
    # ada's own photos are still ada's
    assert answer(unit(1, 0, 0.05, 0), templates).person == "ada"
    # the next person is named if they pass by themselves
    templates = gallery({"ada": [ADA], "cal": [unit(1, 0, 0.6, 0)]},
                        rejected={"ada": [look_alike]})
    assert answer(unit(1, 0, 0.55, 0), templates).person == "cal"


def test_a_face_too_small_or_turned_is_unknown_unless_quality_is_not_checked():
    templates = gallery({"ada": [ADA]})
    small = answer(ADA, templates, detection=box(10))
    assert small.status == "unknown" and "too small" in small.reason
    turned = Detection((0, 0, 90, 90), ((20, 30), (60, 30), (85, 50), (25, 65), (55, 65)), 0.9)
    assert "turned" in answer(ADA, templates, detection=turned).reason
    lenient = Rule(RULE.threshold, RULE.margin, check_quality=False)
    assert answer(ADA, templates, lenient, box(10)).person == "ada"


def test_an_empty_gallery_answers_unknown():
    empty = PeopleTemplates.of((), np.zeros(0, np.int64), np.zeros((0, 4), np.float32))
    found = decide(box(), ADA, np.zeros(0), empty, RULE, 3)
    assert found.status == "unknown" and found.similarity == -1.0


def test_the_threshold_follows_the_people_enrolled_and_never_falls_below_the_pair_one():
    def threshold(shape, **kw):
        return identification_threshold(kw.get("given"), kw.get("fpir"),
                                        kw.get("settings", {}), TAILS, 0.319, shape)
    small = threshold({1: 2}, fpir=0.2)
    assert (small.value, small.source) == (0.319, "model")
    big = [threshold({1: n}) for n in (100, 1000, 10_000)]
    assert [t.source for t in big] == ["open-set"] * 3
    assert big[0].value < big[1].value < big[2].value
    assert big[1].people == 1000 and big[1].faces == 1000 and big[1].fpir == 0.01
    assert threshold({1: 1000}, fpir=0.1).value < big[1].value
    assert threshold({1: 1000}, given=0.2).source == "given"
    stored = {"threshold": "0.25", "calibration": '{"method": "set"}'}
    assert threshold({1: 1000}, settings=stored).value == 0.25
    # an earlier version's calibration on pairs raises the floor, never lowers it
    legacy = {"threshold": "0.6", "calibration": '{"method": "far"}'}
    assert threshold({1: 1000}, settings=legacy).value == 0.6
    assert threshold({1: 1000}, settings={"fpir": "0.1"}).fpir == 0.1
