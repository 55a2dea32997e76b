"""facerec explain: stages found by hooks on every embedder, pictures written."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facerec import NoFaceError
from facerec.cli import main
from facerec.explain.explanation import explain, stage_activations
from facerec.models.build import build_network


def test_explain_sees_the_face_stage_by_stage(analyzer, samples):
    explained = explain(analyzer, samples / "obama.jpg")
    assert explained.crop.shape == (112, 112, 3)
    sizes = [stage.activations.shape[-1] for stage in explained.stages]
    assert len(sizes) >= 4 and sizes == sorted(sizes, reverse=True)  # coarser each stage
    x1, y1, x2, y2 = (round(v) for v in explained.face.detection.box)
    inside = explained.score_map[y1:y2, x1:x2].max()
    assert inside > 0.8 and inside > 4 * np.median(explained.score_map)


def test_stages_of_every_embedder(dlib_path, model_paths):
    net = build_network("dlib-resnet-v1", "embedder").for_inference()
    stages = stage_activations(net, torch.rand(1, 3, 150, 150) * 255)
    assert [s.activations.shape[-1] for s in stages] == [72, 35, 17, 8, 4, 2]


def test_explain_writes_its_pictures(model_paths, samples, tmp_path):
    assert main(["explain", str(samples / "obama.jpg"), "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"explain.png", "faces.png", "detector-scores.png", "aligned.png"} <= names
    assert len([n for n in names if n.startswith("stage-")]) >= 4


def test_a_photo_without_a_face_is_a_clear_error(analyzer):
    with pytest.raises(NoFaceError):
        explain(analyzer, np.full((240, 320, 3), 128, np.uint8))
