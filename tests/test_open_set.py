"""The open-set rule's arithmetic, and the measured impostor tails it reads."""

from __future__ import annotations

import math

import pytest

from facerec.models.registry import MODELS
from facerec.open_set import ImpostorTail, ImpostorTails

TAIL = ImpostorTail(pairs=10**7, per_decade=0.05,
                    points=((1e-1, 0.2), (1e-2, 0.3), (1e-3, 0.36), (1e-4, 0.41)))


def test_a_tail_is_read_between_and_beyond_its_points():
    assert TAIL.similarity_at(1e-2) == pytest.approx(0.3)
    assert TAIL.similarity_at(10 ** -1.5) == pytest.approx(0.25)
    assert TAIL.similarity_at(1e-6) == pytest.approx(0.41 + 2 * 0.05)
    for rate in (0.3, 0.05, 3e-3, 1e-4, 1e-7):
        assert TAIL.rate_at(TAIL.similarity_at(rate)) == pytest.approx(rate)


def test_the_threshold_rises_with_the_people_enrolled_and_keeps_the_target():
    tails = ImpostorTails((TAIL,), "test")
    previous = -1.0
    for people in (1, 10, 100, 1000, 100_000):
        threshold = tails.threshold({1: people}, 0.01, safety=1.0)
        assert threshold > previous
        assert tails.fpir({1: people}, threshold) == pytest.approx(0.01, rel=1e-3)
        # by default it expects half the target
        assert tails.fpir({1: people}, tails.threshold({1: people}, 0.01)) == \
            pytest.approx(0.005, rel=1e-3)
        previous = threshold
    # one person: 1% of single comparisons
    assert tails.threshold({1: 1}, 0.01, safety=1.0) == pytest.approx(0.3, abs=1e-4)


def test_people_with_more_faces_count_with_their_own_lighter_tail():
    lighter = ImpostorTail(pairs=10**6, per_decade=0.05,
                           points=((1e-1, 0.18), (1e-2, 0.27), (1e-3, 0.33), (1e-4, 0.38)))
    tails = ImpostorTails((TAIL, lighter), "test")
    assert tails.threshold({2: 100}, 0.01) < tails.threshold({1: 100}, 0.01)
    assert tails.for_faces(2) is lighter
    mixed = tails.threshold({1: 50, 2: 50}, 0.01)
    assert tails.threshold({2: 100}, 0.01) < mixed < tails.threshold({1: 100}, 0.01)
    # past the faces measured: the nearest face's bound, 7 times one face's rate
    assert tails.rate(7, 0.36) == pytest.approx(7 * TAIL.rate_at(0.36))
    with pytest.raises(ValueError):
        tails.for_faces(3)


def test_bad_tails_and_rates_are_refused():
    with pytest.raises(ValueError):
        ImpostorTail(pairs=10, per_decade=0.05, points=((1e-2, 0.3), (1e-1, 0.2)))
    with pytest.raises(ValueError):
        TAIL.similarity_at(0.0)
    with pytest.raises(ValueError):
        ImpostorTails((TAIL,), "test").threshold({1: 3}, 1.5)


@pytest.mark.parametrize("spec", [s for s in MODELS.values() if s.role == "embedder"],
                         ids=lambda s: s.name)
def test_every_embedder_carries_measured_tails(spec):
    tails = spec.impostors
    assert tails is not None and len(tails.by_faces) == 10
    assert "measure_impostors.py" in tails.data
    single = tails.for_faces(1)
    assert single.pairs > 10**7 and single.points[-1][0] <= 1e-5
    for k in range(2, 11):
        # the score against k faces is no more often reached than the nearest of k faces
        # would be (the bound used past the tails measured)
        for rate in (1e-2, 1e-3, 1e-4):
            similarity = tails.for_faces(k).similarity_at(rate)
            assert tails.rate(k, similarity) <= k * single.rate_at(similarity) * 1.05
    # the model's pair threshold sits inside the measured range
    assert single.points[0][1] < spec.threshold < single.points[-1][1]
    assert math.isfinite(single.similarity_at(1e-9))
