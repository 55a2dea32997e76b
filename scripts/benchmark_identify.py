"""Open-set identification on LFW through facerec's own enroll and identify.

Protocol: the gallery is the first photo (by name) of every person with two or more
photos; the probes are those people's other photos, plus every photo of the people with
one photo, who are strangers. In a probe the face nearest the centre is the subject.

Prints rank-1 accuracy (known probes whose best candidate is right) and DIR at FPIR 1%:
the share of known probes named correctly when the threshold lets through 1% of strangers.

    python scripts/benchmark_identify.py [--faces ../shared/faces] [--limit N] [--flip]
"""

from __future__ import annotations

from facerec.levers import enable_levers

enable_levers()  # timed as the commands run: before torch is imported

import argparse
import csv
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facerec import FaceAnalyzer, FaceDB, Match
from facerec.photos.image import load_image

REPO = Path(__file__).resolve().parent.parent
BATCH = 32


def split(faces: Path, limit: int | None) -> tuple[dict[str, Path], list[tuple[str, Path]]]:
    """(gallery: person -> photo, probes: (person, photo)); strangers are not in gallery."""
    photos: dict[str, list[Path]] = defaultdict(list)
    with open(faces / "lfw_identities.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            photos[row["identity"]].append(faces / row["image"])
    people = sorted(photos)[:limit] if limit else sorted(photos)
    gallery, probes = {}, []
    for person in people:
        ordered = sorted(photos[person])
        if len(ordered) >= 2:
            gallery[person] = ordered[0]
            probes.extend((person, p) for p in ordered[1:])
        else:
            probes.append((person, ordered[0]))
    return gallery, probes


def central(matches: list[Match], shape: tuple[int, ...]) -> Match | None:
    if not matches:
        return None
    cx, cy = shape[1] / 2, shape[0] / 2
    return min(matches, key=lambda m: ((m.detection.box[0] + m.detection.box[2]) / 2 - cx) ** 2
               + ((m.detection.box[1] + m.detection.box[3]) / 2 - cy) ** 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--limit", type=int, help="use only the first N people (quick runs)")
    parser.add_argument("--embedder", default="sface-2021dec", help="embedding model")
    parser.add_argument("--flip", action="store_true",
                        help="embed mirrored crops too (FaceAnalyzer(flip=True))")
    args = parser.parse_args()
    if not (args.faces / "lfw_identities.csv").is_file():
        print(f"no LFW at {args.faces}", file=sys.stderr)
        return 2
    gallery, probes = split(args.faces, args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        known = Path(tmp) / "known"
        for person, photo in gallery.items():
            (known / person).mkdir(parents=True)
            (known / person / photo.name).symlink_to(photo)
        analyzer = FaceAnalyzer(download=True, flip=args.flip, embedder=args.embedder)
        with FaceDB(Path(tmp) / "db", analyzer) as db:
            started = time.perf_counter()
            report = db.enroll(known, progress=True)
            enroll_rate = report.photos / (time.perf_counter() - started)
            best_person, best_sim, truth, answered = [], [], [], []
            started = time.perf_counter()
            for start in tqdm(range(0, len(probes), BATCH), desc="identifying", unit="batch"):
                chunk = probes[start:start + BATCH]
                images = [load_image(p) for _, p in chunk]
                for (person, _), image, matches in zip(chunk, images,
                                                       db.identify_batch(images, top_k=1)):
                    match = central(matches, image.shape)
                    truth.append(person)
                    best_person.append(match.candidates[0].person if match else None)
                    best_sim.append(match.similarity if match else -1.0)
                    answered.append(match.person if match else "unknown")
            rule = db.identification_threshold()
            identify_rate = len(probes) / (time.perf_counter() - started)
    truth_a, person_a, sim_a = np.array(truth), np.array(best_person), np.array(best_sim)
    is_known = np.isin(truth_a, list(gallery))
    correct = person_a == truth_a
    strangers = np.sort(sim_a[~is_known])
    threshold = float(np.quantile(strangers, 0.99, method="higher")) + 1e-6
    fpir = float(np.mean(strangers >= threshold))
    dir_rate = float(np.mean(correct[is_known] & (sim_a[is_known] >= threshold)))
    print(f"model {analyzer.model_id}; gallery {len(gallery)} people "
          f"({len(report.skipped)} photos skipped), "
          f"probes {int(is_known.sum())} known + {int((~is_known).sum())} strangers")
    print(f"enroll {enroll_rate:.1f} photos/s, identify {identify_rate:.1f} photos/s")
    print(f"rank-1           {correct[is_known].mean():.2%}")
    print(f"DIR at FPIR 1%   {dir_rate:.2%} (threshold {threshold:.4f}, FPIR {fpir:.2%})")
    said = np.array(answered)
    wrong = (said[is_known] != truth_a[is_known]) & (said[is_known] != "unknown")
    print(f"as answered      named right {np.mean(said[is_known] == truth_a[is_known]):.2%}, "
          f"wrong names {np.mean(wrong):.2%}, "
          f"strangers named {np.mean(said[~is_known] != 'unknown'):.2%} ({rule.describe()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
