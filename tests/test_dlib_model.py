"""dlib's face recognition ResNet: the file reader and the port, against dlib itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facerec import FaceAnalyzer, ModelError, load_image
from facerec.models.build import build_network
from facerec.models.nets.dlib_format import read_layers
from facerec.models.nets.dlib_resnet import add_padded
from facerec.models.registry import DLIB_RESNET


@pytest.fixture(scope="module")
def dlib_analyzer(model_paths, dlib_path):
    return FaceAnalyzer("cpu", embedder="dlib-resnet-v1")


@pytest.fixture(scope="module")
def crops(dlib_analyzer, samples) -> torch.Tensor:
    """(8, 3, 150, 150) real faces aligned to the model's template, and their mirrors."""
    found = []
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
        image = load_image(samples / name)
        face = dlib_analyzer.align(image, dlib_analyzer.detect(image)[:1])
        found += [face, face.flip(-1)]
    return torch.cat(found)


@pytest.mark.parametrize("folded", [False, True])
def test_descriptors_match_dlib(dlib_path, dlib_module, crops, folded):
    """The port computes dlib's own descriptors, at batch 1 and 8, plain and with every
    affine folded into its convolution."""
    net = build_network(DLIB_RESNET.name, "embedder")
    if folded:
        net.for_inference()
    reference = dlib_module.face_recognition_model_v1(str(dlib_path))
    chips = crops.round().clamp(0, 255).to(torch.uint8)
    expected = np.array([reference.compute_face_descriptor(
        np.ascontiguousarray(chip.permute(1, 2, 0).numpy())) for chip in chips])
    for rows in (slice(0, 1), slice(0, 8)):
        with torch.inference_mode():
            ours = net(chips[rows].float()).numpy()
        assert ours.shape == (rows.stop, 128)
        assert np.abs(ours - expected[rows]).max() <= 1e-5


def test_reader_yields_the_layers_in_order(dlib_path):
    layers = list(read_layers(dlib_path))
    assert layers[0].kind == "input_rgb_image"
    assert (layers[0].settings["nr"], layers[0].settings["nc"]) == (150, 150)
    kinds = [layer.kind for layer in layers]
    assert kinds.count("con") == kinds.count("affine") == 29
    assert kinds[-2:] == ["avg_pool", "fc"]
    assert layers[-1].params.size == 256 * 128


def test_reader_refuses_other_files(dlib_path, model_paths, tmp_path):
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(dlib_path.read_bytes()[:100_000])
    with pytest.raises(ModelError, match="ends early"):
        list(read_layers(truncated))
    with pytest.raises(ModelError, match="not a dlib"):
        list(read_layers(model_paths["sface-2021dec"]))


def test_add_padded_adds_into_the_top_left_corner():
    """dlib's add_prev: the smaller tensor is zero-padded at the end of C, H and W."""
    big = torch.ones(1, 2, 2, 2)
    small = torch.full((1, 1, 1, 1), 5.0)
    out = add_padded(small, big)
    expected = torch.ones(1, 2, 2, 2)
    expected[0, 0, 0, 0] = 6.0
    assert torch.equal(out, expected)
