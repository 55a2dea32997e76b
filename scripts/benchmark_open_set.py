"""Strangers named, people named right and wrong names, at 10, 100 and 1,000 enrolled
people with 1 and 3 photos each, for every embedder: the open-set protocol on LFW.

For each draw, people are enrolled with their first photos (in a seeded random order);
their other photos are the *probes*, and every photo of a person not enrolled is a
*stranger*. Each face is decided by facerec's own rule (``facerec.recognition.matching``: mean-face
scores, the open-set threshold for 1% of strangers named, unsure within a decade of the
impostor tail, quality checked). Beside it:

* **pair rule**: the rule before the open-set decision (nearest enrolled face at the
  model's fixed pair threshold);
* **fixed at same rate**: the nearest-face rule at the one fixed threshold that names
  the same share of strangers as the open-set rule did in that draw (chosen with
  hindsight, so it is the best a fixed threshold could do).

**Held out.** The registry's impostor tails were measured on all of LFW, these photos
included. ``--held-out`` (the default) measures the tails again on half of the people,
chosen at random, and draws galleries and strangers from the other half only, so every
figure is reported on people the tails never saw; ``--in-sample`` uses the registry's.

    python scripts/benchmark_open_set.py [--models sface-2021dec w600k-mbf dlib-resnet-v1]
        [--draws 5] [--in-sample] [--score nearest|two-nearest|mean]

``--score`` compares ways of scoring a person from their faces (each with its own tails,
measured on the held-out half): the nearest face, the mean of the two nearest, the mean
of all.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lfw_faces import DEFAULT_FACES, LfwFaces, lfw_faces  # noqa: E402
from measure_impostors import measured_tails  # noqa: E402

from facerec.evaluation.dataset import FaceSet  # noqa: E402
from facerec.evaluation.strangers import templates_of  # noqa: E402
from facerec.models.registry import get_model  # noqa: E402
from facerec.open_set import DEFAULT_FPIR, ImpostorTails  # noqa: E402
from facerec.recognition.matching import Rule, identification_threshold, margin_of, match_faces  # noqa: E402
from facerec.storage.templates import SCORE, SCORES, PeopleTemplates  # noqa: E402
from facerec.types import Detection  # noqa: E402

SETTINGS = ((10, 1), (10, 3), (100, 1), (100, 3), (1000, 1), (1000, 3))
MODELS = ("sface-2021dec", "w600k-mbf", "dlib-resnet-v1")


@dataclass
class Figures:
    strangers: int = 0
    probes: int = 0
    named: int = 0
    right: int = 0
    wrong: int = 0
    unsure: int = 0
    pair_named: int = 0
    pair_right: int = 0
    pair_wrong: int = 0
    fixed_right: int = 0
    threshold: float = 0.0

    def add(self, other: Figures) -> None:
        for key, value in vars(other).items():
            setattr(self, key, getattr(self, key) + value)


def faceset(found: LfwFaces, rows: np.ndarray) -> FaceSet:
    detections = [Detection((0.0, 0.0, float(s), float(s)),
                            tuple((float(x), float(y)) for x, y in points), float(score))
                  for s, points, score in zip(found.sizes[rows], found.landmarks[rows],
                                              found.scores[rows])]
    return FaceSet(found.labels[rows], list(found.paths[rows]), detections,
                   found.embeddings[rows])


def held_out_tails(found: LfwFaces, people: np.ndarray, score: str) -> ImpostorTails:
    """The tails of rule ``score`` measured again on ``people`` only (1 to 10 faces)."""
    rows = np.isin(found.labels, people)
    return measured_tails(found.embeddings[rows], found.labels[rows], 10, score,
                          "held-out half of LFW")


def one_draw(found: LfwFaces, pool: np.ndarray, people: int, photos: int,
             tails: ImpostorTails, pair: float, rng: np.random.Generator, score: str
             ) -> Figures:
    names, counts = np.unique(found.labels[np.isin(found.labels, pool)], return_counts=True)
    with_photos = names[counts >= photos]
    enrolled = rng.choice(with_photos, people, replace=False) if len(with_photos) >= people \
        else np.concatenate([with_photos, rng.choice(names[counts < photos],
                                                     people - len(with_photos),
                                                     replace=False)])
    gallery, probes = [], []
    for name in enrolled:
        rows = rng.permutation(np.flatnonzero(found.labels == name))
        gallery += list(rows[:photos])
        probes += list(rows[photos:])
    strangers = np.flatnonzero(np.isin(found.labels, pool) & ~np.isin(found.labels, enrolled))
    enrolled_set = faceset(found, np.array(gallery))
    templates = templates_of(enrolled_set)
    threshold = identification_threshold(None, DEFAULT_FPIR, {}, tails, pair,
                                         templates.shape())
    rule = Rule(threshold, margin_of(tails, pair))
    probe_set, stranger_set = faceset(found, np.array(probes)), faceset(found, strangers)
    known = match_faces(probe_set.embeddings, probe_set.detections, templates, rule,
                        score=score)
    others = match_faces(stranger_set.embeddings, stranger_set.detections, templates, rule,
                         score=score)
    out = Figures(strangers=len(others), probes=len(known), threshold=threshold.value)
    out.named = sum(m.known for m in others)
    out.right = sum(m.person == label for m, label in zip(known, probe_set.labels))
    out.wrong = sum(m.known and m.person != label for m, label in zip(known, probe_set.labels))
    out.unsure = sum(m.status == "unsure" for m in known)
    # the nearest-face rule: at the pair threshold, and at the fixed threshold naming as
    # many strangers as the open-set rule did
    owner = np.searchsorted(templates.names, enrolled_set.labels)
    nearest_s = _nearest(stranger_set.embeddings, enrolled_set.embeddings, owner, len(enrolled))
    nearest_p = _nearest(probe_set.embeddings, enrolled_set.embeddings, owner, len(enrolled))
    truth = np.searchsorted(templates.names, probe_set.labels)
    best_s, best_p = nearest_s.max(1), nearest_p.max(1)
    top_p = nearest_p.argmax(1)
    out.pair_named = int(np.sum(best_s >= pair))
    out.pair_right = int(np.sum((best_p >= pair) & (top_p == truth)))
    out.pair_wrong = int(np.sum((best_p >= pair) & (top_p != truth)))
    fixed = np.sort(best_s)[::-1][out.named] + 1e-6 if out.named < len(best_s) else -1.0
    out.fixed_right = int(np.sum((best_p >= fixed) & (top_p == truth)))
    return out


def mislabeled_draw(found: LfwFaces, pool: np.ndarray, people: int, tails: ImpostorTails,
                    pair: float, rng: np.random.Generator, score: str) -> tuple[int, int]:
    """People enrolled with three photos, one of them of someone else (a photo filed
    under the wrong name): (that someone's other photos given the person's name, how
    many were asked)."""
    names, counts = np.unique(found.labels[np.isin(found.labels, pool)], return_counts=True)
    chosen = rng.choice(names[counts >= 4], 2 * people, replace=False)
    enrolled, intruders = chosen[:people], chosen[people:]
    gallery, owner, asked, truth = [], [], [], []
    for index, (name, intruder) in enumerate(zip(enrolled, intruders)):
        own = rng.permutation(np.flatnonzero(found.labels == name))[:2]
        theirs = rng.permutation(np.flatnonzero(found.labels == intruder))
        gallery += [*own, theirs[0]]
        owner += [index] * 3
        asked += list(theirs[1:])
        truth += [index] * (len(theirs) - 1)
    faces = faceset(found, np.array(gallery))
    templates = PeopleTemplates.of(tuple(str(n) for n in enrolled), np.array(owner),
                                   faces.embeddings)
    threshold = identification_threshold(None, DEFAULT_FPIR, {}, tails, pair,
                                         templates.shape())
    rule = Rule(threshold, margin_of(tails, pair))
    probes = faceset(found, np.array(asked))
    answers = match_faces(probes.embeddings, probes.detections, templates, rule, score=score)
    return sum(m.person == templates.names[t] for m, t in zip(answers, truth)), len(answers)


def _nearest(queries: np.ndarray, faces: np.ndarray, owner: np.ndarray, people: int
             ) -> np.ndarray:
    """(Q, P) each query's similarity to each person's nearest face."""
    sims = queries @ faces.T
    best = np.full((len(queries), people), -2.0, np.float32)
    np.maximum.at(best.T, owner, sims.T)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--in-sample", action="store_true",
                        help="use the registry's tails and all of LFW")
    parser.add_argument("--score", choices=sorted(SCORES), default=SCORE,
                        help="how a person is scored from their faces (held out only: the "
                             "tails are measured for it; default: facerec's)")
    parser.add_argument("--int8", action="store_true",
                        help="also each model's 8-bit embedder (facerec.models.int8), its "
                             "tails held out from its own embeddings")
    args = parser.parse_args()
    if args.in_sample and args.score != SCORE:
        parser.error("--in-sample uses the registry's tails, measured for facerec's score")
    print(f"# score: {args.score}; tails: "
          + ("the registry's (all of LFW)" if args.in_sample else "held out"))
    print("| model | people | photos | threshold | strangers named | named right | "
          "wrong names | unsure | pair rule: strangers named | named right | wrong | "
          "fixed at same rate: named right |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    runs = [(model, False) for model in args.models]
    runs += [(model, True) for model in args.models if args.int8]
    for model, int8 in runs:
        found = lfw_faces(model, args.faces, int8=int8)
        spec = get_model(model)
        label = f"{model} int8" if int8 else model
        everyone = np.unique(found.labels)
        order = np.random.default_rng(2024).permutation(everyone)
        if args.in_sample:
            tails, pool = spec.impostors, everyone
        else:
            tails = held_out_tails(found, order[: len(order) // 2], args.score)
            pool = order[len(order) // 2:]
        for people, photos in SETTINGS:
            total = Figures()
            for draw in range(args.draws):
                total.add(one_draw(found, pool, people, photos, tails,
                                   float(spec.threshold), np.random.default_rng(draw),
                                   args.score))
            print(f"| {label} | {people:,} | {photos} | {total.threshold / args.draws:.3f} | "
                  f"{_pct(total.named, total.strangers)} | {_pct(total.right, total.probes)} | "
                  f"{_pct(total.wrong, total.probes)} | {_pct(total.unsure, total.probes)} | "
                  f"{_pct(total.pair_named, total.strangers)} | "
                  f"{_pct(total.pair_right, total.probes)} | "
                  f"{_pct(total.pair_wrong, total.probes)} | "
                  f"{_pct(total.fixed_right, total.probes)} |", flush=True)
        wrong = [mislabeled_draw(found, pool, 100, tails, float(spec.threshold),
                                 np.random.default_rng(draw), args.score)
                 for draw in range(args.draws)]
        print(f"# {label}, 100 people enrolled with 3 photos, one of them someone else's: "
              f"that someone's other photos named as the person: "
              f"{_pct(sum(n for n, _ in wrong), sum(t for _, t in wrong))}", flush=True)


def _pct(count: int, total: int) -> str:
    return "-" if total == 0 else f"{100 * count / total:.1f}%"


if __name__ == "__main__":
    main()
