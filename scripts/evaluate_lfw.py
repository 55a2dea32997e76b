"""LFW View 1 verification: choose the threshold on DevTrain, report accuracy on DevTest.

LFW photos are centred on their subject, so each image's face is the detected face nearest
the centre; an image with no face detected counts as a wrong answer on every pair it is in.
``--opencv`` runs the same protocol through OpenCV's own YuNet and SFace for reference.

    python scripts/evaluate_lfw.py [--faces ../shared/faces] [--device cpu] [--flip] [--opencv]
    python scripts/evaluate_lfw.py --enlarge 3024   # phone-size photos of the same faces

``--enlarge SIDE`` checks the reduced decode of large photos (``facerec.photos.photo``): each
DevTest image enlarged to SIDE pixels, saved as JPEG, then read as facerec reads photo
files and, for comparison, decoded in full (accuracy at the registry's threshold).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facerec import FaceAnalyzer, ImageError, load_image
from facerec.faces.reading import Received, analyze_photos
from facerec.results import Skip
from facerec.types import Face

REPO = Path(__file__).resolve().parent.parent
BATCH = 32


def read_pairs(faces: Path) -> list[dict[str, str]]:
    with open(faces / "lfw_view1_pairs.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def embed_images(analyzer: FaceAnalyzer, faces: Path,
                 names: list[str]) -> dict[str, np.ndarray | None]:
    """Embedding of the central face of each image, or None when there is none."""
    out: dict[str, np.ndarray | None] = {}
    for start in tqdm(range(0, len(names), BATCH), desc="embedding", unit="batch"):
        chunk = names[start:start + BATCH]
        pixels, readable = [], []
        for name in chunk:
            try:
                pixels.append(load_image(faces / name))
                readable.append(name)
            except ImageError as exc:
                print(f"skipped {exc}", file=sys.stderr)
                out[name] = None
        for name, image, found in zip(readable, pixels, analyzer.analyze_batch(pixels)):
            out[name] = central_face(found, image.shape).embedding if found else None
    return out


def enlarged_jpeg(path: Path, side: int) -> bytes:
    """The photo enlarged (bicubic) to ``side`` pixels on its longer side, as a JPEG of
    quality 92: the same face as a phone camera's photo would hold it."""
    image = cv2.imread(str(path))
    scale = side / max(image.shape[:2])
    big = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                     interpolation=cv2.INTER_CUBIC)
    return cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def embed_enlarged(analyzer: FaceAnalyzer, faces: Path, names: list[str], side: int,
                   reduced: bool) -> dict[str, np.ndarray | None]:
    """Embedding of the central face of each image enlarged to ``side`` (see
    ``enlarged_jpeg``), read as facerec reads a photo file (``analyze_photos``: decoded
    reduced for detection) or, with ``reduced`` False, decoded in full."""
    out: dict[str, np.ndarray | None] = {}
    for start in tqdm(range(0, len(names), BATCH), desc=f"enlarged to {side}", unit="batch"):
        chunk = names[start:start + BATCH]
        photos = [(name, Received(name, enlarged_jpeg(faces / name, side))) for name in chunk]
        if reduced:
            found = [(name, outcome.faces, outcome.size[::-1]) for name, outcome
                     in analyze_photos(analyzer, photos, batch=BATCH)
                     if not isinstance(outcome, Skip)]
        else:
            pixels = [load_image(photo.data) for _, photo in photos]
            found = [(name, faces_of, image.shape[:2]) for name, faces_of, image
                     in zip(chunk, analyzer.analyze_batch(pixels), pixels)]
        for name, faces_of, shape in found:
            out[name] = central_face(faces_of, shape).embedding if faces_of else None
    return out


def central_face(faces: list[Face], shape: tuple[int, ...]) -> Face:
    """The face whose box centre is nearest the image centre."""
    cy, cx = shape[0] / 2, shape[1] / 2

    def distance(face: Face) -> float:
        x1, y1, x2, y2 = face.detection.box
        return ((x1 + x2) / 2 - cx) ** 2 + ((y1 + y2) / 2 - cy) ** 2

    return min(faces, key=distance)


def embed_images_opencv(analyzer: FaceAnalyzer, faces: Path,
                        names: list[str]) -> dict[str, np.ndarray | None]:
    """The same protocol through cv2.FaceDetectorYN, alignCrop and FaceRecognizerSF."""
    from facerec.models.weights import weights_path

    detector = cv2.FaceDetectorYN.create(str(weights_path(analyzer.detector_spec)), "",
                                         (320, 320), analyzer.detector.config.score_threshold)
    recognizer = cv2.FaceRecognizerSF.create(str(weights_path(analyzer.embedder_spec)), "")
    out: dict[str, np.ndarray | None] = {}
    for name in tqdm(names, desc="opencv", unit="image"):
        bgr = cv2.imread(str(faces / name))
        detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, rows = detector.detect(bgr)
        if rows is None:
            out[name] = None
            continue
        centre = np.array([bgr.shape[1] / 2, bgr.shape[0] / 2])
        row = min(rows, key=lambda r: float(np.sum((r[:2] + r[2:4] / 2 - centre) ** 2)))
        feature = recognizer.feature(recognizer.alignCrop(bgr, row)).ravel()
        out[name] = feature / np.linalg.norm(feature)
    return out


def similarities(pairs: list[dict[str, str]],
                 embeddings: dict[str, np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity per pair (NaN where a face is missing) and the same-person labels."""
    sims, labels = [], []
    for pair in pairs:
        a, b = embeddings[pair["image_a"]], embeddings[pair["image_b"]]
        sims.append(float(a @ b) if a is not None and b is not None else np.nan)
        labels.append(pair["same_person"] == "1")
    return np.array(sims), np.array(labels)


def accuracy(sims: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """Share of pairs judged right; a pair with a missing face is judged wrong."""
    predicted = np.nan_to_num(sims, nan=-np.inf) >= threshold
    right = (predicted == labels) & ~np.isnan(sims)
    return float(right.mean())


def best_threshold(sims: np.ndarray, labels: np.ndarray) -> float:
    """Threshold with the best accuracy, placed midway between neighbouring similarities."""
    values = np.sort(sims[~np.isnan(sims)])
    candidates = np.concatenate([[values[0] - 1e-3], (values[1:] + values[:-1]) / 2])
    scores = [accuracy(sims, labels, t) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def compare_enlarged(analyzer: FaceAnalyzer, faces: Path, test: list[dict[str, str]],
                     side: int) -> int:
    """DevTest at the registry's threshold with every image enlarged to ``side``, read
    reduced as facerec reads photo files and decoded in full, and how close each image's
    two embeddings are."""
    names = sorted({p[k] for p in test for k in ("image_a", "image_b")})
    found = {reduced: embed_enlarged(analyzer, faces, names, side, reduced)
             for reduced in (True, False)}
    for reduced, embeddings in found.items():
        missing = sum(v is None for v in embeddings.values())
        print(f"enlarged to {side}, {'read reduced' if reduced else 'decoded in full'}: "
              f"DevTest {accuracy(*similarities(test, embeddings), analyzer.threshold):.2%} "
              f"at the registry threshold {analyzer.threshold:.3f}, "
              f"{missing} images without a face")
    both = [(found[True][n], found[False][n]) for n in names
            if found[True][n] is not None and found[False][n] is not None]
    agreement = np.array([float(a @ b) for a, b in both])
    print(f"the same face's two embeddings: cosine median {np.median(agreement):.4f}, "
          f"lowest {agreement.min():.4f} ({len(both)} images)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--device", default=None)
    parser.add_argument("--flip", action="store_true", help="add mirrored-crop embeddings")
    parser.add_argument("--embedder", default="sface-2021dec", help="embedding model")
    parser.add_argument("--opencv", action="store_true", help="also run OpenCV's pipeline")
    parser.add_argument("--int8", action="store_true",
                        help="run the float embedder and the 8-bit one (facerec.models.int8), "
                             "and count the pairs on which they disagree (default: the "
                             "embedder facerec chooses here)")
    parser.add_argument("--enlarge", type=int, metavar="SIDE",
                        help="instead, every DevTest image enlarged to SIDE px and saved "
                             "as JPEG, read as facerec reads photo files (decoded reduced) "
                             "and decoded in full")
    args = parser.parse_args()
    if not (args.faces / "lfw_view1_pairs.csv").is_file():
        print(f"no LFW pairs at {args.faces}", file=sys.stderr)
        return 2
    pairs = read_pairs(args.faces)
    names = sorted({p[k] for p in pairs for k in ("image_a", "image_b")})
    analyzer = FaceAnalyzer(args.device, download=True, flip=args.flip, embedder=args.embedder,
                            int8=False if args.int8 else None)
    train = [p for p in pairs if p["split"] == "DevTrain"]
    test = [p for p in pairs if p["split"] == "DevTest"]
    print(f"model: {analyzer.model_id} on {analyzer.device}, flip={args.flip}, "
          f"{'int8' if analyzer.int8 else 'float'}; "
          f"{len(names)} images, {len(train)} DevTrain and {len(test)} DevTest pairs")
    if args.enlarge:
        return compare_enlarged(analyzer, args.faces, test, args.enlarge)
    runs = [("facerec", lambda: embed_images(analyzer, args.faces, names))]
    if args.int8:
        quantized = FaceAnalyzer(args.device, download=True, flip=args.flip,
                                 embedder=args.embedder, int8=True)
        runs.append(("int8", lambda: embed_images(quantized, args.faces, names)))
    if args.opencv:
        runs.append(("opencv", lambda: embed_images_opencv(analyzer, args.faces, names)))
    decisions: dict[str, np.ndarray] = {}
    for label, run in runs:
        started = time.perf_counter()
        embeddings = run()
        rate = len(names) / (time.perf_counter() - started)
        missing = sum(v is None for v in embeddings.values())
        threshold = best_threshold(*similarities(train, embeddings))
        print(f"{label:<8} threshold {threshold:.4f} (best on DevTrain)  "
              f"DevTrain {accuracy(*similarities(train, embeddings), threshold):.2%}  "
              f"DevTest {accuracy(*similarities(test, embeddings), threshold):.2%}  "
              f"[registry threshold {analyzer.threshold:.3f}: DevTest "
              f"{accuracy(*similarities(test, embeddings), analyzer.threshold):.2%}]  "
              f"{missing} images without a face, {rate:.1f} images/s")
        decisions[label] = similarities(test, embeddings)[0] >= threshold
    if "int8" in decisions:
        differ = int((decisions["int8"] != decisions["facerec"]).sum())
        print(f"int8 and float decide {differ} of {len(test)} DevTest pairs differently "
              f"(each at its own DevTrain threshold)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
