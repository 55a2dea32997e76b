"""INT8 SFace: built from the float network and its calibration table, its embeddings
in the float network's space, the default only where it is the faster."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facerec import FaceAnalyzer, load_image
from facerec.errors import ModelError
from facerec.models import build, int8, weights
from facerec.models.build import build_network
from facerec.models.int8 import Scale, fold_feature_bn, int8_available, read_table, write_table
from facerec.models.registry import SFACE

needs_engine = pytest.mark.skipif(not int8_available(),
                                  reason="INT8 needs an x86-64 CPU and PyTorch's FBGEMM "
                                         "quantized engine")


@pytest.fixture(scope="module")
def both(model_paths) -> tuple[FaceAnalyzer, FaceAnalyzer]:
    if not int8_available():
        pytest.skip("INT8 needs an x86-64 CPU and PyTorch's FBGEMM quantized engine")
    return FaceAnalyzer("cpu", int8=False), FaceAnalyzer("cpu", int8=True)


@needs_engine
def test_int8_faces_embed_as_the_float_network_embeds_them(both, samples):
    real, quantized = both
    assert quantized.int8 and not real.int8 and quantized.model_id == real.model_id
    names = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")
    photos = [load_image(samples / name) for name in names]
    floats = [real.analyze(photo)[0] for photo in photos]
    ints = [quantized.analyze(photo)[0] for photo in photos]
    for a, b in zip(floats, ints):
        assert a.detection == b.detection  # the detector is the same
        assert float(a.embedding @ b.embedding) > 0.99
    same = [float(ints[0].embedding @ other.embedding) for other in ints[1:]]
    threshold = quantized.threshold
    assert same[0] >= threshold and same[1] >= threshold and same[2] < threshold


@needs_engine
def test_the_8_bit_embedder_is_quantized_where_it_says(both):
    _, quantized = both
    net = quantized.embedder.net
    quantized_layers = [m for m in net.modules() if isinstance(m, int8.QuantizedLayer)]
    assert len(quantized_layers) == 13  # 12 of the 13 pointwise convolutions and fc
    assert all(m.weight().is_quantized for m in quantized_layers)
    floats = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(floats) == 15  # the 13 depthwise, the stem and the first pointwise
    assert sum(m.kernel_size == (1, 1) for m in floats) == 1


@needs_engine
def test_the_kept_8_bit_weights_give_the_network_made_from_the_float_ones(
        model_paths, tmp_path, monkeypatch):
    """The first 8-bit build quantizes the float weights and keeps them in the cache; a
    later one reads them instead (quantizing nothing, and reading none of the float
    tensors they replace) and gives the same bits; kept weights that fail their check,
    or do not fit, are made again."""
    monkeypatch.setenv("FACEREC_MODELS_DIR", str(tmp_path))
    weights.import_file(model_paths[SFACE.name])
    crops = torch.rand(3, 3, *SFACE.input_size) * 255

    def embeddings() -> torch.Tensor:
        net = int8.int8_sface(SFACE)
        with torch.inference_mode():
            return net(crops)

    made = embeddings()
    (kept,) = (tmp_path / "prepared").glob("*.int8-*.safetensors")
    with monkeypatch.context() as patched:
        patched.setattr(int8, "quantized_state", None)  # a call would fail
        read: list[str] = []
        full = build.read_prepared

        def reading(target, leave_out=None):  # what the build reads of the float copy
            found = full(target, leave_out)
            read.extend(found or {})
            return found

        patched.setattr(build, "read_prepared", reading)
        assert torch.equal(embeddings(), made)
    float_keys = set(build_network(SFACE.name, "embedder").state_dict())
    left = float_keys - set(read)
    assert left and all(int8.replaced(key) for key in left)
    assert left == {key for key in float_keys if int8.replaced(key)}
    assert all(".prelu." not in key for key in left)
    kept.write_bytes(b"garbage" * 100)
    assert torch.equal(embeddings(), made)
    assert kept.stat().st_size > 1_000_000
    build.write_prepared(kept, {"fc.weight": torch.zeros(1, dtype=torch.int8)}, SFACE)
    assert torch.equal(embeddings(), made)  # kept weights that pass their check but do
    assert kept.stat().st_size > 1_000_000  # not fit the network are made again too


def test_the_feature_batchnorm_folds_into_the_fully_connected_layer(model_paths):
    net = FaceAnalyzer("cpu", int8=False).embedder.net
    x = torch.randn(3, 1024, 7, 7)
    with torch.no_grad():
        expected = net.fc(net.features_bn(x).flatten(1))
        np.testing.assert_allclose(fold_feature_bn(net)(x.flatten(1)), expected,
                                   rtol=1e-4, atol=1e-4)


def test_a_table_round_trips_and_a_missing_one_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(int8, "TABLES", tmp_path)
    layers = {"units.0.pw": (Scale(0.05, 98), Scale(0.06, 146)),
              "fc": (Scale(0.01, 120), Scale(0.02, 128))}
    write_table("some-model", layers, "a test")
    assert read_table("some-model") == layers
    with pytest.raises(ModelError, match="no INT8 calibration table"):
        read_table("other-model")


def test_the_shipped_table_covers_every_quantized_layer(model_paths):
    net = FaceAnalyzer("cpu", int8=False).embedder.net
    table = read_table("sface-2021dec")
    assert set(table) >= {name for name, _ in int8.quantized_units(net)} | {"fc"}
    assert all(0 < s.scale < 1 and 0 <= s.zero_point <= 255
               for pair in table.values() for s in pair)


def test_only_sface_on_the_cpu_takes_int8(model_paths, dlib_path):
    with pytest.raises(ModelError, match="INT8 runs SFace on the CPU"):
        FaceAnalyzer("cpu", embedder="dlib-resnet-v1", int8=True)
    assert not FaceAnalyzer("cpu", embedder="dlib-resnet-v1").int8  # never by default

