"""facerec's port of dlib's ResNet beside face_recognition itself, on LFW View 1 DevTest.

face_recognition finds faces with dlib's HOG detector and aligns them on dlib's landmarks;
facerec runs the same network on faces found and aligned by YuNet's five points. For each
DevTest pair this prints verification accuracy for: face_recognition alone (tolerance
0.6), facerec alone (the model's threshold), and mixed pairs (one face from each, as when
encodings imported from face_recognition meet photos facerec embeds), plus how far apart
the two descriptors of the same face are.

    python scripts/compare_face_recognition.py
"""

from __future__ import annotations

from facerec.levers import enable_levers

enable_levers()  # timed as the commands run: before torch is imported

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from evaluate_lfw import central_face, read_pairs
from tqdm import tqdm

from facerec import FaceAnalyzer, load_image
from facerec.enrollment.from_encodings import FACE_RECOGNITION_TOLERANCE, similarity_for_tolerance
from facerec.models.registry import DLIB_RESNET


def their_descriptor(face_recognition, image: np.ndarray) -> np.ndarray | None:
    """face_recognition's encoding of the face nearest the image centre."""
    locations = face_recognition.face_locations(image)
    if not locations:
        return None
    cy, cx = image.shape[0] / 2, image.shape[1] / 2
    top, right, bottom, left = min(locations, key=lambda b: ((b[1] + b[3]) / 2 - cx) ** 2
                                   + ((b[0] + b[2]) / 2 - cy) ** 2)
    return face_recognition.face_encodings(image, [(top, right, bottom, left)])[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=Path(__file__).parents[2] / "shared/faces")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import face_recognition
    pairs = [p for p in read_pairs(args.faces) if p["split"] == "DevTest"]
    names = sorted({p[key] for p in pairs for key in ("image_a", "image_b")})
    analyzer = FaceAnalyzer("cpu", embedder=DLIB_RESNET.name)
    net = analyzer.embedder.net
    theirs: dict[str, np.ndarray | None] = {}
    ours: dict[str, np.ndarray | None] = {}
    spent = {"face_recognition": 0.0, "facerec": 0.0}
    for name in tqdm(names, desc="embedding", unit="image"):
        image = load_image(args.faces / name)
        start = time.perf_counter()
        theirs[name] = their_descriptor(face_recognition, image)
        spent["face_recognition"] += time.perf_counter() - start
        start = time.perf_counter()
        faces = analyzer.analyze(image)
        if faces:
            crop = analyzer.align(image, [central_face(faces, image.shape).detection])
            with torch.inference_mode():
                ours[name] = net(crop.to(analyzer.device)).cpu().numpy()[0]
        else:
            ours[name] = None
        spent["facerec"] += time.perf_counter() - start
    same = np.array([p["same_person"] == "1" for p in pairs])
    tolerance = FACE_RECOGNITION_TOLERANCE
    print(f"{len(pairs)} DevTest pairs, {len(names)} images; faces missed: face_recognition "
          f"{sum(v is None for v in theirs.values())}, facerec "
          f"{sum(v is None for v in ours.values())}")
    for label, first, second in (("face_recognition", theirs, theirs),
                                 ("facerec", ours, ours), ("mixed", theirs, ours)):
        distances = np.array([np.linalg.norm(first[p["image_a"]] - second[p["image_b"]])
                              if first[p["image_a"]] is not None
                              and second[p["image_b"]] is not None else np.nan
                              for p in pairs])
        by_distance = np.nan_to_num(distances, nan=np.inf) <= tolerance
        cosines = np.array([_cosine(first[p["image_a"]], second[p["image_b"]])
                            for p in pairs])
        by_threshold = np.nan_to_num(cosines, nan=-1.0) >= DLIB_RESNET.threshold
        print(f"{label:>17}: distance <= {tolerance}: {np.mean(by_distance == same):.2%}   "
              f"similarity >= {DLIB_RESNET.threshold}: {np.mean(by_threshold == same):.2%}")
    gaps = [np.linalg.norm(theirs[n] - ours[n]) for n in names
            if theirs[n] is not None and ours[n] is not None]
    norms = [np.linalg.norm(v) for v in ours.values() if v is not None]
    print(f"same face, face_recognition vs facerec descriptor: median distance "
          f"{np.median(gaps):.3f} (90th percentile {np.percentile(gaps, 90):.3f}); median "
          f"length {np.median(norms):.3f}, so tolerance {tolerance} is similarity "
          f"{similarity_for_tolerance(tolerance, float(np.median(norms))):.3f}")
    print(f"time per image: face_recognition {1000 * spent['face_recognition'] / len(names):.0f}"
          f" ms, facerec {1000 * spent['facerec'] / len(names):.0f} ms (one image at a time)")
    return 0


def _cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None:
        return float("nan")
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


if __name__ == "__main__":
    sys.exit(main())
