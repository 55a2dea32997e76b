"""Speed of facerec beside onnxruntime and OpenCV running the same models, same inputs.

Embedding: faces per second at batch 1, 8 and 32 on real aligned crops, beside the
model's reference runtime (onnxruntime; dlib for dlib's ResNet).
Detection: frames per second on 640x480 frames made from real photos (facerec and
OpenCV include decoding and NMS; onnxruntime is the network alone).
End to end: whole photos to embeddings, facerec beside OpenCV's own YuNet + alignCrop +
SFace (default models) or beside face_recognition (``--embedder dlib-resnet-v1``) on the
same decoded pixels.

    python scripts/benchmark.py [--device cpu] [--compile] [--seconds 3] [--embedder NAME]

The exported ONNX files fix the batch (and YuNet's input size); for onnxruntime those
dimensions are made symbolic in memory, nothing else is changed.
"""

from __future__ import annotations

from facerec.levers import enable_levers

enable_levers()  # timed as the commands run: before torch is imported

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import torch

from facerec import FaceAnalyzer, load_image
from facerec.models.registry import get_model
from facerec.models.weights import weights_path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "faces"
BATCHES = (1, 8, 32)


def compare(contenders: dict[str, Callable[[], object]], seconds: float,
            rounds: int = 5) -> dict[str, float]:
    """Median seconds per call of each contender.

    Contenders take turns in short rounds, so a change in machine load during the run
    falls on all of them alike rather than on whichever ran at that moment.
    """
    for fn in contenders.values():
        for _ in range(3):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            deadline = time.perf_counter() + seconds / rounds
            while True:
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
                if time.perf_counter() >= deadline:
                    break
    return {name: statistics.median(times) for name, times in samples.items()}


def ort_session(path: Path, symbolic: dict[int, str]) -> ort.InferenceSession:
    """onnxruntime session with the first input's given dimensions made symbolic."""
    model = onnx.load(str(path))
    for value in list(model.graph.input[:1]) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        for axis, name in symbolic.items():
            if axis < len(dims) and (value.name == model.graph.input[0].name or axis == 0):
                dims[axis].dim_param = name
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def real_photos() -> list[Path]:
    from facerec.photos.samples import default_dir
    photos = sorted(default_dir().glob("*.jpg"))
    if (SHARED / "photos").is_dir():
        photos += sorted((SHARED / "photos").glob("*.jpg"))
    if not photos:
        sys.exit("no photos: run `facerec samples` first")
    return photos


def aligned_crops(analyzer: FaceAnalyzer, photos: list[Path], count: int) -> torch.Tensor:
    crops = []
    for path in photos:
        image = load_image(path)
        crops.append(analyzer.align(image, analyzer.detect(image)))
    crops_t = torch.cat(crops)
    return crops_t.repeat((count + len(crops_t) - 1) // len(crops_t), 1, 1, 1)[:count].cpu()


def frames_640x480(photos: list[Path], count: int = 8) -> list[np.ndarray]:
    return [cv2.resize(load_image(p), (640, 480), interpolation=cv2.INTER_AREA)
            for p in photos[:count]]


def reference_embedder(spec_name: str, path: Path, crops: torch.Tensor
                       ) -> tuple[str, Callable[[int], object]]:
    """The reference runtime of a model's original file: onnxruntime for ONNX files, dlib
    itself for dlib's ResNet. Returns its name and a function embedding the first N crops."""
    if spec_name == "dlib-resnet-v1":
        import dlib
        model = dlib.face_recognition_model_v1(str(path))
        chips = [np.ascontiguousarray(c.permute(1, 2, 0).numpy().round().astype(np.uint8))
                 for c in crops]
        return "dlib", lambda n: model.compute_face_descriptor(chips[:n])
    session = ort_session(path, {0: "batch"})
    input_name = session.get_inputs()[0].name
    normalised_outside = onnx.load(str(path)).graph.node[0].op_type == "Conv"
    spec = get_model(spec_name)
    raw = crops.numpy()
    feeds = {n: {input_name: (raw[:n] - spec.mean) * spec.scale if normalised_outside
                 else raw[:n]} for n in BATCHES}
    return "onnxruntime", lambda n: session.run(None, feeds[n])


def bench_embedding(analyzer: FaceAnalyzer, crops: torch.Tensor, seconds: float) -> None:
    """facerec's embedder beside the model's reference runtime on the same crops (and
    OpenCV for SFace)."""
    spec = analyzer.embedder_spec
    path = weights_path(spec)
    reference, run_reference = reference_embedder(spec.name, path, crops)
    recognizer = cv2.FaceRecognizerSF.create(str(path), "") if spec.name == "sface-2021dec" \
        else None
    bgr_crops = [np.ascontiguousarray(c.permute(1, 2, 0).numpy()[:, :, ::-1].astype(np.uint8))
                 for c in crops]
    print(f"\nembedding with {spec.name} (faces/s, higher is better)")
    print(f"{'batch':>6} {'facerec':>10} {reference:>12} {'opencv':>10}")
    for batch in BATCHES:
        x = crops[:batch].to(analyzer.device)
        contenders = {
            "facerec": lambda: analyzer.embedder.embed(x),
            reference: lambda: run_reference(batch),
        }
        if recognizer is not None:
            contenders["opencv"] = lambda: [recognizer.feature(c) for c in bgr_crops[:batch]]
        took = compare(contenders, seconds)
        rates = {k: batch / v for k, v in took.items()}
        opencv = f"{rates['opencv']:>10.1f}" if "opencv" in rates else f"{'-':>10}"
        print(f"{batch:>6} {rates['facerec']:>10.1f} {rates[reference]:>12.1f} {opencv}")


def bench_detection(analyzer: FaceAnalyzer, frames: list[np.ndarray], seconds: float,
                    compiled: FaceAnalyzer | None) -> None:
    path = weights_path(analyzer.detector_spec)
    session = ort_session(path, {2: "height", 3: "width"})
    detector = cv2.FaceDetectorYN.create(str(path), "", (640, 480),
                                         analyzer.detector.config.score_threshold)
    blobs = [np.ascontiguousarray(f[:, :, ::-1].transpose(2, 0, 1))[None].astype(np.float32)
             for f in frames]
    bgr = [np.ascontiguousarray(f[:, :, ::-1]) for f in frames]
    state = {"i": 0}

    def cycle(items: list) -> object:
        state["i"] = (state["i"] + 1) % len(items)
        return items[state["i"]]

    contenders = {
        "facerec": lambda: analyzer.detector.detect([cycle(frames)], frames=True),
        "facerec b8": lambda: analyzer.detector.detect(frames[:8], frames=True),
        "onnxruntime": lambda: session.run(None, {"input": cycle(blobs)}),
        "opencv": lambda: detector.detect(cycle(bgr)),
    }
    if compiled is not None:
        contenders["compiled"] = lambda: compiled.detector.detect([cycle(frames)], frames=True)
    took = compare(contenders, seconds * 2)
    ours, ours_batch = 1 / took["facerec"], len(frames[:8]) / took["facerec b8"]
    reference, opencv = 1 / took["onnxruntime"], 1 / took["opencv"]
    print("\ndetection on 640x480 frames (frames/s, higher is better)")
    print(f"{'facerec':>10} {'facerec b8':>11} {'onnxruntime':>12} {'opencv':>10}")
    print(f"{ours:>10.1f} {ours_batch:>11.1f} {reference:>12.1f} {opencv:>10.1f}")
    print(f"{1000 / ours:>8.2f}ms {1000 / ours_batch:>9.2f}ms {1000 / reference:>10.2f}ms "
          f"{1000 / opencv:>8.2f}ms  per frame")
    print(f"facerec / opencv: {opencv and ours / opencv:.2f}x")
    if compiled is not None:
        rate = 1 / took["compiled"]
        print(f"facerec with the detector compiled: {rate:.1f} frames/s, "
              f"{1000 / rate:.2f} ms per frame, {rate / opencv:.2f}x opencv")


def photos_up_to_1280(photos: list[Path]) -> list[np.ndarray]:
    """The photos decoded and scaled to at most 1280 px, so no contender scales them."""
    images = []
    for path in photos:
        image = load_image(path)
        scale = min(1.0, 1280 / max(image.shape[:2]))
        if scale < 1.0:
            image = cv2.resize(image, (round(image.shape[1] * scale),
                                       round(image.shape[0] * scale)),
                               interpolation=cv2.INTER_AREA)
        images.append(image)
    return images


def bench_end_to_end(analyzer: FaceAnalyzer, photos: list[Path], seconds: float) -> None:
    """Whole photos to embeddings, one photo at a time, on the same decoded pixels: for
    SFace beside OpenCV's own pipeline (FaceDetectorYN, alignCrop, FaceRecognizerSF at the
    same score threshold); for dlib's ResNet beside face_recognition (dlib's HOG detector,
    5-point landmarks, the same network)."""
    images = photos_up_to_1280(photos)
    if analyzer.embedder_spec.name == "sface-2021dec":
        name, theirs = "opencv", opencv_pipeline(analyzer)
    elif analyzer.embedder_spec.name == "dlib-resnet-v1":
        import face_recognition
        name = "face_recognition"

        def theirs(image: np.ndarray) -> int:
            return len(face_recognition.face_encodings(image))
    else:
        return

    def facerec_all() -> int:
        return sum(len(analyzer.analyze(image)) for image in images)

    def theirs_all() -> int:
        return sum(theirs(image) for image in images)

    took = compare({"facerec": facerec_all, name: theirs_all}, seconds * 2, rounds=3)
    ours, peer = len(images) / took["facerec"], len(images) / took[name]
    print(f"\nend to end on {len(images)} photos (photos/s, higher is better): "
          f"facerec {ours:.1f} ({facerec_all()} faces), {name} {peer:.1f} "
          f"({theirs_all()} faces); facerec / {name}: {ours / peer:.2f}x")


def opencv_pipeline(analyzer: FaceAnalyzer) -> Callable[[np.ndarray], int]:
    """OpenCV's YuNet + alignCrop + SFace on one RGB photo; returns the faces embedded."""
    detector = cv2.FaceDetectorYN.create(str(weights_path(analyzer.detector_spec)), "",
                                         (320, 320), analyzer.detector.config.score_threshold,
                                         analyzer.detector.config.nms_threshold)
    recognizer = cv2.FaceRecognizerSF.create(str(weights_path(analyzer.embedder_spec)), "")

    def run(image: np.ndarray) -> int:
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, faces = detector.detect(bgr)
        for face in faces if faces is not None else []:
            recognizer.feature(recognizer.alignCrop(bgr, face))
        return 0 if faces is None else len(faces)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--compile", action="store_true",
                        help="also measure the compiled detector "
                             "(FaceAnalyzer(compile_detector=True))")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--embedder", default="sface-2021dec", help="embedding model")
    parser.add_argument("--embedding-only", action="store_true", help="skip detection")
    args = parser.parse_args()
    analyzer = FaceAnalyzer(args.device, download=True, embedder=args.embedder)
    compiled = None
    if args.compile:
        compiled = FaceAnalyzer(args.device, compile_detector=True)
        start = time.perf_counter()
        compiled.detect(np.zeros((480, 640, 3), np.uint8))
        print(f"compiling the detector for 640x480 took {time.perf_counter() - start:.1f} s")
    print(f"facerec on {analyzer.device} (torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, compile={args.compile}); "
          f"onnxruntime {ort.__version__}; opencv {cv2.__version__}; "
          f"{platform.processor() or platform.machine()}")
    photos = real_photos()
    bench_embedding(analyzer, aligned_crops(analyzer, photos, max(BATCHES)), args.seconds)
    if not args.embedding_only:
        bench_detection(analyzer, frames_640x480(photos), args.seconds, compiled)
        bench_end_to_end(analyzer, photos, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
