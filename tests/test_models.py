"""Registry metadata against the real weights, device selection, and the weight cache."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from facerec import DeviceError, ModelError, select_device
from facerec.models import build, weights
from facerec.models.build import build_network
from facerec.models.nets import SFace
from facerec.models.registry import MODELS, SFACE, YUNET


def test_registry_entries_describe_the_real_files(model_paths, mbf_path, dlib_path):
    paths = {**model_paths, "w600k-mbf": mbf_path, "dlib-resnet-v1": dlib_path}
    for spec in MODELS.values():
        path = paths[spec.name]
        assert path.stat().st_size == spec.size
        assert weights.sha256_of(path) == spec.sha256
        assert spec.license and spec.sources and spec.accuracy
        assert spec.commercial or spec.terms  # a restricted licence is spelled out
        if spec.role == "embedder":
            assert spec.threshold is not None and spec.cluster_threshold is not None
    sface = build_network(SFACE.name, "embedder")
    with torch.inference_mode():
        out = sface(torch.zeros(1, 3, *SFACE.input_size))
    assert out.shape == (1, SFACE.embedding_size)
    assert float(sface.mean) == SFACE.mean and float(sface.scale) == SFACE.scale
    assert 0.0 < SFACE.threshold < 1.0
    yunet = build_network(YUNET.name, "detector")
    with torch.inference_mode():
        assert yunet(torch.zeros(1, 3, *YUNET.input_size))["cls_8"].shape == (1, 6400, 1)


def test_missing_weights_say_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEREC_MODELS_DIR", str(tmp_path))
    assert weights.status(YUNET).state == "missing"
    with pytest.raises(ModelError, match="facerec models fetch"):
        weights.weights_path(YUNET)


def test_corrupt_weights_are_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEREC_MODELS_DIR", str(tmp_path))
    (tmp_path / YUNET.file).write_bytes(b"\0" * YUNET.size)
    assert weights.status(YUNET).state == "corrupt"
    with pytest.raises(ModelError, match="corrupt"):
        weights.weights_path(YUNET)


def test_import_checks_the_hash(tmp_path, monkeypatch, model_paths):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FACEREC_MODELS_DIR", str(cache))
    copied = tmp_path / "whatever-name.onnx"
    copied.write_bytes(model_paths[YUNET.name].read_bytes())
    assert weights.import_file(copied) is YUNET
    assert weights.status(YUNET).state == "ready"
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="matches no known model"):
        weights.import_file(bogus)


def test_device_selection():
    assert select_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert select_device(None).type == expected
    assert select_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            select_device("cuda")
    with pytest.raises(DeviceError):
        select_device("tpu-of-dreams")


def test_public_names_stay():
    import facerec
    for name in facerec.__all__:
        assert getattr(facerec, name) is not None
    assert set(facerec.__all__) == set(facerec._EXPORTS)


def test_a_model_of_the_wrong_role_is_refused(model_paths):
    from facerec import FaceAnalyzer
    with pytest.raises(ModelError, match="is a detector"):
        FaceAnalyzer("cpu", embedder=YUNET.name)
    with pytest.raises(ModelError, match="is an? embedder"):
        FaceAnalyzer("cpu", detector=SFACE.name)
    with pytest.raises(ModelError, match="unknown model"):
        FaceAnalyzer("cpu", embedder="no-such-model")


def test_networks_are_built_from_their_entries(model_paths, tmp_path, monkeypatch):
    """The registry's fields shape the network, and the prepared copy of the weights
    gives the same network as the ONNX file; a damaged copy is made again."""
    monkeypatch.setenv("FACEREC_MODELS_DIR", str(tmp_path))
    weights.import_file(model_paths[SFACE.name])
    built = build_network(SFACE.name, "embedder")
    assert built.fc.out_features == SFACE.embedding_size
    assert built.input_size == SFACE.input_size
    assert float(built.mean) == SFACE.mean and float(built.scale) == SFACE.scale
    reference = SFace.from_spec(SFACE)  # converted from the ONNX file, not the prepared copy
    reference.load_state_dict(SFace.state_from_file(model_paths[SFACE.name], SFACE))
    reference.eval()
    crops = torch.rand(2, 3, *SFACE.input_size) * 255
    with torch.inference_mode():
        assert torch.equal(built(crops), reference(crops))
    (prepared,) = (tmp_path / "prepared").glob("*.safetensors")
    prepared.write_bytes(b"garbage" * 100)
    again = build_network(SFACE.name, "embedder")
    with torch.inference_mode():
        assert torch.equal(again(crops), reference(crops))
    assert prepared.stat().st_size > 1_000_000


def test_a_tensor_the_weights_file_does_not_give_is_refused(model_paths, tmp_path,
                                                            monkeypatch):
    """Networks are made on the meta device and take every tensor from the weights file;
    one the file does not give (a buffer an architecture makes for itself) would have no
    values, so the build names it instead of running without them."""
    monkeypatch.setenv("FACEREC_MODELS_DIR", str(tmp_path))
    weights.import_file(model_paths[SFACE.name])

    class SFaceWithOffsets(SFace):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.register_buffer("offsets", torch.zeros(3), persistent=False)

    with monkeypatch.context() as patched:
        patched.setattr(build, "network_class", lambda spec: SFaceWithOffsets)
        with pytest.raises(ModelError, match="offsets"):
            build_network(SFACE.name, "embedder")
    assert not any(t.is_meta for t in build_network(SFACE.name, "embedder").state_dict().values())


def test_a_non_commercial_model_is_fetched_only_on_acceptance(tmp_path, monkeypatch):
    """Refused before anything is downloaded: by the library, and by `facerec models
    fetch` without names, which lists it as not fetched with how to accept."""
    from cli import run_cli

    from facerec import FaceAnalyzer
    from facerec.models.registry import W600K_MBF

    monkeypatch.setenv("FACEREC_MODELS_DIR", str(tmp_path))
    monkeypatch.delenv(weights.ACCEPT_ENV, raising=False)
    assert not W600K_MBF.commercial and W600K_MBF.name not in (YUNET.name, SFACE.name)
    with pytest.raises(ModelError, match="non-commercial"):
        weights.fetch(W600K_MBF)
    with pytest.raises(ModelError, match="--accept-license"):
        FaceAnalyzer("cpu", embedder=W600K_MBF.name, download=True)
    assert not (tmp_path / W600K_MBF.file).exists()
    listed = run_cli("models", env={"FACEREC_MODELS_DIR": str(tmp_path)})
    line = next(row for row in listed.stdout.splitlines() if row.startswith(W600K_MBF.name))
    assert "NON-COMMERCIAL" in line and "missing" in line
    named = run_cli("models", "fetch", W600K_MBF.name, env={"FACEREC_MODELS_DIR": str(tmp_path)})
    assert named.returncode == 2 and "--accept-license" in named.stderr
    assert not (tmp_path / W600K_MBF.file).exists()


def test_w600k_mbf_tells_people_apart(mbf_path, model_paths, samples):
    from facerec import FaceAnalyzer
    from facerec.models.registry import W600K_MBF
    from facerec.recognition.verification import verify

    analyzer = FaceAnalyzer("cpu", embedder=W600K_MBF.name)
    assert analyzer.model_id == W600K_MBF.name and analyzer.embedder.dim == 512
    same = verify(samples / "obama.jpg", samples / "obama3.jpg", analyzer=analyzer)
    other = verify(samples / "obama.jpg", samples / "biden.jpg", analyzer=analyzer)
    assert same.same_person and not other.same_person
    assert same.threshold.value == W600K_MBF.threshold
