"""Search an embedder's landmark template on LFW View 1 DevTrain (never on DevTest).

The template says where the five landmarks land in the aligned crop; its scale and
vertical position decide how much of the head the network sees. This script detects each
DevTrain face once, then embeds the pairs for the registry template scaled about the crop
centre and shifted vertically, and prints for each variant the best DevTrain accuracy and
the true-accept rate at a 1% false-accept rate (a finer measure on 1,614 pairs).

    python scripts/fit_template.py --embedder dlib-resnet-v1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from evaluate_lfw import accuracy, best_threshold, central_face, read_pairs
from tqdm import tqdm

from facerec import FaceAnalyzer, load_image
from facerec.faces.align import align_faces
from facerec.models.registry import get_model

BATCH = 64


def tar_at_far(sims: np.ndarray, labels: np.ndarray, far: float) -> float:
    """Share of same-person pairs accepted at the threshold that accepts ``far`` of the rest."""
    impostors = np.sort(sims[~labels & ~np.isnan(sims)])[::-1]
    threshold = impostors[max(int(far * len(impostors)) - 1, 0)]
    genuine = sims[labels]
    return float(np.mean(np.nan_to_num(genuine, nan=-np.inf) > threshold))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=Path(__file__).parents[2] / "shared/faces")
    parser.add_argument("--embedder", default="dlib-resnet-v1")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.92, 0.96, 1.0, 1.04])
    parser.add_argument("--shifts", type=float, nargs="+", default=[-4.0, 0.0, 4.0],
                        help="vertical shifts in crop pixels (positive moves the face down)")
    args = parser.parse_args()
    if not (args.faces / "lfw_view1_pairs.csv").is_file():
        print(f"no LFW View 1 pairs under {args.faces}", file=sys.stderr)
        return 1
    pairs = [p for p in read_pairs(args.faces) if p["split"] == "DevTrain"]
    names = sorted({p[key] for p in pairs for key in ("image_a", "image_b")})
    analyzer = FaceAnalyzer(embedder=args.embedder)
    spec = get_model(args.embedder, "embedder")
    size = spec.input_size[0]
    base = torch.tensor(spec.template, dtype=torch.float64)
    landmarks: dict[str, np.ndarray] = {}
    for name in tqdm(names, desc="detecting", unit="image"):
        image = load_image(args.faces / name)
        faces = analyzer.analyze(image)
        if faces:
            face = central_face(faces, image.shape)
            landmarks[name] = np.array(face.detection.landmarks, dtype=np.float64)
    labels = np.array([p["same_person"] == "1" for p in pairs])
    print(f"{args.embedder}: {len(landmarks)}/{len(names)} DevTrain images with a face")
    print("scale  shift  accuracy  TAR@FAR1%")
    for scale in args.scales:
        for shift in args.shifts:
            template = (base - size / 2) * scale + size / 2 + torch.tensor([0.0, shift])
            embeddings = embed(analyzer, args.faces, landmarks, size, template)
            sims = np.array([
                float(embeddings[p["image_a"]] @ embeddings[p["image_b"]])
                if p["image_a"] in embeddings and p["image_b"] in embeddings else np.nan
                for p in pairs])
            best = accuracy(sims, labels, best_threshold(sims, labels))
            tar = tar_at_far(sims, labels, 0.01)
            print(f"{scale:5.2f}  {shift:+5.1f}  {best:8.2%}  {tar:9.2%}", flush=True)
    return 0


def embed(analyzer: FaceAnalyzer, faces: Path, landmarks: dict[str, np.ndarray], size: int,
          template: torch.Tensor) -> dict[str, np.ndarray]:
    names = sorted(landmarks)
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(names), BATCH):
        chunk = names[start:start + BATCH]
        crops = torch.cat([
            align_faces(torch.from_numpy(load_image(faces / name)),
                        torch.from_numpy(landmarks[name]).reshape(1, 5, 2), size, template)
            for name in chunk])
        for name, vector in zip(chunk, analyzer.embed_crops(crops)):
            out[name] = vector
    return out


if __name__ == "__main__":
    sys.exit(main())
