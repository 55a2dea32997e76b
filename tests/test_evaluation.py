"""facerec evaluate: the split, the metrics on hand-computed cases, the report on real faces."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from facerec.cli import main
from facerec.evaluation.dataset import split_people
from facerec.evaluation.metrics import (
    accuracy,
    best_accuracy_threshold,
    equal_error_rate,
    open_set,
    roc_curve,
    tar_at_far,
    threshold_for_far,
)
from facerec.evaluation.pairs import all_pairs

GENUINE = np.array([0.9, 0.8, 0.4])
IMPOSTOR = np.array([0.1, 0.5, 0.2, 0.3])


def test_split_keeps_each_person_in_one_set_and_repeats():
    people = [f"person{i}" for i in range(101)]
    split = split_people(people, seed=7, validation_share=0.3)
    assert not set(split.validation) & set(split.test)
    assert set(split.validation) | set(split.test) == set(people)
    assert len(split.validation) == 30
    assert split_people(list(reversed(people)), seed=7, validation_share=0.3) == split
    assert split_people(people, seed=8, validation_share=0.3) != split
    two = split_people(["a", "b"], validation_share=0.9)
    assert len(two.validation) == len(two.test) == 1


def test_verification_metrics_on_a_hand_computed_case():
    # accepting at 0.35 takes all three genuine pairs and only the 0.5 impostor: 6 of 7 right
    assert best_accuracy_threshold(GENUINE, IMPOSTOR) == pytest.approx(0.35)
    assert accuracy(GENUINE, IMPOSTOR, 0.45) == pytest.approx(5 / 7)
    # FAR 1/4 allows one impostor (0.5): the threshold sits just above 0.3
    threshold = threshold_for_far(IMPOSTOR, 0.25)
    assert 0.3 < threshold < 0.3 + 1e-9
    assert tar_at_far(GENUINE, IMPOSTOR, 0.25) == 1.0
    assert tar_at_far(GENUINE, IMPOSTOR, 0.01) is None  # 4 impostor pairs cannot measure 1%
    # at 0.5: FAR 1/4, FRR 1/3, the closest they come
    eer, at = equal_error_rate(GENUINE, IMPOSTOR)
    assert eer == pytest.approx((1 / 4 + 1 / 3) / 2) and at == 0.5
    curve = roc_curve(GENUINE, IMPOSTOR)
    assert curve.far[0] == 0 and curve.tar[-1] == 1 and np.all(np.diff(curve.far) >= 0)


def test_open_set_on_a_hand_computed_case():
    gallery = np.eye(3)[:2]  # ann -> e0, bob -> e1
    probes = np.array([[0.9, 0.1, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0], [0.3, 0.2, 0.9]])
    probes = probes / np.linalg.norm(probes, axis=1, keepdims=True)
    labels = np.array(["ann", "bob", "cat", "dan"])  # bob's probe is nearer ann; cat, dan strangers
    result = open_set(gallery, np.array(["ann", "bob"]), probes, labels)
    assert result.rank1 == 0.5 and list(result.cmc) == [0.5, 1.0]
    assert len(result.stranger_best) == 2
    assert result.dir_at_fpir(0.01) is None  # two strangers cannot measure 1%
    dir_rate, threshold = result.dir_at_fpir(0.5)
    assert threshold > result.stranger_best.min() and dir_rate == 0.5


def test_pairs_sampled_when_too_many_keep_every_genuine_pair():
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(300, 8)).astype(np.float32)
    labels = np.repeat(np.arange(100), 3)
    full = all_pairs(embeddings, labels)
    sampled = all_pairs(embeddings, labels, max_pairs=5_000)
    assert full.same.sum() == sampled.same.sum() == 300
    assert len(sampled.similarity) < len(full.similarity)


@pytest.mark.slow
def test_evaluate_writes_a_self_contained_report(shared_faces, model_paths, tmp_path):
    out = tmp_path / "report"
    assert main(["evaluate", str(shared_faces / "gallery"), "--out", str(out),
                 "--seed", "1", "--compare", "flip"]) == 0
    for name in ("roc.png", "det.png", "cmc.png", "similarities.png", "report.json"):
        assert (out / name).stat().st_size > 0
    report = json.loads((out / "report.json").read_text())
    assert report["split"]["validation_people"] + report["split"]["test_people"] == 5
    model = report["models"][0]
    assert [m["model"] for m in report["models"]] == ["sface-2021dec", "sface-2021dec+flip"]
    assert 0 <= model["verification"]["eer"] <= 1
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "strangers given a name" in page
    # five people are far too few to measure 1% of strangers, or a pair FAR: said so
    assert "Too few strangers to trust" in page and "No pair threshold is recommended" in page
    assert model["open_set"]["trusted"] is False and model["recommended_threshold"] is None
    # the page opens with what was measured, in words, and the mistakes say their threshold
    assert "evaluation of " + str(shared_faces / "gallery") in page
    assert "validation people and" in page and "{" not in page.split("<body>")[1][:400]
    assert f"at {model['mistakes_threshold']:.3f}, the threshold most accurate" in page
    # a curve in the DET plot though this folder measures no error: zeros are drawn at the
    # measurement's resolution (today's plot left out every point of a perfect model)
    assert line_pixels(out / "det.png") > 400
    assert "http://" not in page and "https://" not in page


def line_pixels(png) -> int:
    """Coloured pixels in a plot (its curves, and the legend's few): axes, grid and text
    are grey."""
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    return int((pixels.max(axis=2) - pixels.min(axis=2) > 80).sum())
