"""Our PyTorch ports against the reference runtimes, on the CPU, on real photos."""

from __future__ import annotations

import csv
import shutil

import cv2
import numpy as np
import pytest
import torch

from facerec import DetectorConfig, FaceAnalyzer, ModelError, load_image
from facerec.models.build import build_network
from facerec.models.registry import SFACE, W600K_MBF, YUNET

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test dependency")


def ort_session(path):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def analyzer(model_paths):
    """The float networks: parity with onnxruntime and OpenCV is the float network's
    (the 8-bit embedder's agreement with it is tests/test_int8.py's)."""
    return FaceAnalyzer("cpu", int8=False)


@pytest.fixture(scope="module")
def full_res(model_paths):
    """An analyzer that never downscales and takes no closer look, to compare with
    OpenCV's single pass at full resolution."""
    return FaceAnalyzer("cpu", detector_config=DetectorConfig(max_side=None, small_faces="never"))


@pytest.mark.parametrize("prepared", [False, True])
def test_yunet_raw_outputs_match_onnxruntime(model_paths, samples, prepared):
    """Plain, and prepared for inference (merged head, RGB stem, channels-last)."""
    path = model_paths["yunet-2023mar"]
    net = build_network(YUNET.name, "detector")
    image = cv2.resize(load_image(samples / "obama.jpg"), (640, 640))
    bgr = torch.from_numpy(image[:, :, ::-1].copy()).permute(2, 0, 1)[None].float()
    session = ort_session(path)
    reference = dict(zip([o.name for o in session.get_outputs()],
                         session.run(None, {"input": bgr.numpy()})))
    x = bgr
    if prepared:
        net = net.fuse().take_rgb().to(memory_format=torch.channels_last)
        x = bgr.flip(1).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        ours = net(x)
    assert set(ours) == set(reference)
    for name, expected in reference.items():
        diff = np.abs(ours[name].numpy() - expected).max()
        assert diff <= 1e-4, f"{name}: max abs diff {diff}"


@pytest.mark.parametrize("fused", [False, True])
def test_sface_raw_outputs_match_onnxruntime(model_paths, analyzer, samples, fused):
    path = model_paths["sface-2021dec"]
    net = build_network(SFACE.name, "embedder")
    if fused:
        net.fuse()
    image = load_image(samples / "biden.jpg")
    crops = analyzer.align(image, analyzer.detect(image))
    session = ort_session(path)
    expected = session.run(None, {"data": crops.numpy()})[0]
    with torch.inference_mode():
        ours = net(crops).numpy()
    assert np.abs(ours - expected).max() <= 1e-4


@pytest.mark.parametrize("fused", [False, True])
def test_mobilefacenet_raw_outputs_match_onnxruntime(mbf_path, analyzer, samples, fused):
    """w600k_mbf at batch 1 and 8, on real aligned crops."""
    net = build_network(W600K_MBF.name, "embedder")
    if fused:
        net.for_inference()
    crops = []
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
        image = load_image(samples / name)
        face = analyzer.align(image, analyzer.detect(image))
        crops += [face, face.flip(-1)]
    batch = torch.cat(crops)
    session = ort_session(mbf_path)
    for rows in (batch[:1], batch[:8]):
        expected = session.run(None, {"input.1": ((rows - 127.5) / 127.5).numpy()})[0]
        with torch.inference_mode():
            ours = net(rows).numpy()
        assert ours.shape == (len(rows), 512)
        assert np.abs(ours - expected).max() <= 1e-4


def test_yunet_takes_any_multiple_of_32(model_paths):
    net = build_network(YUNET.name, "detector")
    with torch.inference_mode():
        out = net(torch.zeros(2, 3, 480, 640))
    assert out["cls_8"].shape == (2, 60 * 80, 1)
    assert out["kps_32"].shape == (2, 15 * 20, 10)
    with pytest.raises(ModelError, match="multiples of 32"):
        net(torch.zeros(1, 3, 470, 640))


def opencv_detections(model_path, image: np.ndarray, threshold: float) -> np.ndarray:
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    detector = cv2.FaceDetectorYN.create(str(model_path), "", (bgr.shape[1], bgr.shape[0]),
                                         threshold, 0.3, 5000)
    _, faces = detector.detect(bgr)
    return np.zeros((0, 15), np.float32) if faces is None else faces


def test_detections_match_opencv(model_paths, full_res, real_photos):
    threshold = full_res.detector.config.score_threshold
    for path in real_photos:
        image = load_image(path)
        ours = full_res.detect(image)
        reference = opencv_detections(model_paths["yunet-2023mar"], image, threshold)
        assert len(ours) == len(reference), path.name
        for row in reference:
            expected = np.array([row[0], row[1], row[0] + row[2], row[1] + row[3]])
            match = min(ours, key=lambda d: np.abs(np.array(d.box) - expected).max())
            assert np.abs(np.array(match.box) - expected).max() <= 1.0, path.name
            assert np.abs(np.array(match.landmarks) - row[4:14].reshape(5, 2)).max() <= 1.0
            assert abs(match.score - row[14]) <= 1e-3


def test_aligned_crops_match_opencv_aligncrop(model_paths, full_res, samples):
    recognizer = cv2.FaceRecognizerSF.create(str(model_paths["sface-2021dec"]), "")
    image = load_image(samples / "obama.jpg")
    detections = full_res.detect(image)
    ours = full_res.align(image, detections).numpy()
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    for crop, d in zip(ours, detections):
        row = np.array([*d.box[:2], d.width, d.height, *np.ravel(d.landmarks), d.score],
                       dtype=np.float32)
        reference = recognizer.alignCrop(bgr, row)[:, :, ::-1].astype(np.float32)
        diff = np.abs(crop.transpose(1, 2, 0) - reference)
        assert diff.max() <= 1.0  # OpenCV rounds to uint8; we keep float
        assert diff.mean() <= 0.3


def test_embeddings_match_opencv_feature(model_paths, analyzer, real_photos):
    recognizer = cv2.FaceRecognizerSF.create(str(model_paths["sface-2021dec"]), "")
    checked = 0
    for path in real_photos:
        image = load_image(path)
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        for d in analyzer.detect(image):
            row = np.array([*d.box[:2], d.width, d.height, *np.ravel(d.landmarks), d.score],
                           dtype=np.float32)
            crop = recognizer.alignCrop(bgr, row)
            reference = recognizer.feature(crop).ravel()
            tensor = torch.from_numpy(crop[:, :, ::-1].transpose(2, 0, 1).copy()).float()
            ours = analyzer.embed_crops(tensor[None])[0]
            cosine = float(ours @ reference / np.linalg.norm(reference))
            assert cosine >= 0.9999, (path.name, cosine)
            checked += 1
    assert checked >= 7


def test_expected_face_counts(analyzer, shared_faces):
    with open(shared_faces / "photos.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        found = len(analyzer.detect(shared_faces / row["image"]))
        expected = int(row["expected_faces"])
        if row["note"].startswith("at least"):
            assert found >= expected, row
        else:
            assert found == expected, row


def test_batched_analysis_matches_one_by_one(analyzer, real_photos):
    """Photos of mixed sizes analyzed together give what each gives alone."""
    images = [load_image(p) for p in real_photos[:6]]
    images.append(np.ascontiguousarray(images[0].transpose(1, 0, 2)))  # portrait of a landscape
    batched = analyzer.analyze_batch(images)
    for image, together in zip(images, batched):
        alone = analyzer.analyze(image)
        assert len(alone) == len(together)
        for a, b in zip(alone, together):
            np.testing.assert_allclose(a.detection.box, b.detection.box, atol=1e-3)
            assert float(np.dot(a.embedding, b.embedding)) > 0.9999


@pytest.mark.slow
def test_compiled_detector_matches_eager(analyzer, real_photos):
    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        pytest.skip("compiling the detector needs a C++ compiler")
    compiled = FaceAnalyzer("cpu", compile_detector=True)
    image = cv2.resize(load_image(real_photos[0]), (640, 480))
    found = compiled.detect(image)
    assert compiled.detector._forward._compiled is not None, "the detector did not compile"
    expected = analyzer.detect(image)
    assert len(found) == len(expected) > 0
    for ours, eager in zip(found, expected):
        np.testing.assert_allclose(ours.box, eager.box, atol=1e-2)
        np.testing.assert_allclose(ours.landmarks, eager.landmarks, atol=1e-2)
