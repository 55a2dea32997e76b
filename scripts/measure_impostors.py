"""Measure a model's impostor tails: how often a face reaches a similarity with a
different person, from every cross-person pair of LFW.

The open-set rule (``facerec.open_set``) sets its threshold from these tails. Every pair
of LFW photos of two different people counts (about 43 million pairs for 9,337 photos);
the similarities go into a histogram of 1e-4 wide bins, from which the similarity reached
by each rate of pairs is read, down to 1e-5; below that LFW's own label errors dominate
(``--top`` lists them), so the tail is continued at the slope fitted over its last two
decades. The same is measured for the rule's per-person score with k = 2..10 enrolled
faces: the mean similarity of a face to the two nearest of the first k faces of every
other person who has k or more (131 LFW people have 10). The printed ``ImpostorTails`` is
what the model's registry entry carries (``facerec/models/impostor_tails.py``).

    python scripts/measure_impostors.py --model sface-2021dec [--faces ../shared/faces] [--top 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lfw_faces import DEFAULT_FACES, lfw_faces  # noqa: E402

from facerec.open_set import TAIL_RATES, ImpostorTail, ImpostorTails  # noqa: E402
from facerec.storage.templates import SCORE, SCORES  # noqa: E402

BINS = 20_000
"""Histogram bins over similarities -1..1 (1e-4 wide)."""
CHUNK = 512
LOWEST_RATE = 1e-5
"""Below this rate LFW's own label errors (one person filed under two names, a photo
under the wrong name; ``--top`` lists them) outnumber real look-alikes and would make the
tail heavier than it is; the tail is continued from the fitted slope there."""
MIN_PAIRS = 40


def impostor_histogram(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(BINS,) counts of the similarities of every pair of faces of different people,
    each unordered pair once."""
    codes = np.unique(labels, return_inverse=True)[1]
    counts = np.zeros(BINS, dtype=np.int64)
    for start in range(0, len(embeddings), CHUNK):
        rows = embeddings[start:start + CHUNK]
        sims = rows @ embeddings.T
        later = np.arange(len(embeddings))[None, :] > np.arange(start, start + len(rows))[:, None]
        other = codes[start:start + len(rows), None] != codes[None, :]
        counts += _binned(sims[later & other])
    return counts


def template_histogram(embeddings: np.ndarray, labels: np.ndarray, k: int,
                       score: str = SCORE) -> np.ndarray:
    """(BINS,) counts of a rule's score (``db.templates.SCORES``) of a face against the
    first ``k`` faces of each other person who has at least ``k``."""
    codes = np.unique(labels, return_inverse=True)[1]
    counts = np.zeros(BINS, dtype=np.int64)
    rule = SCORES[score]
    for code in np.unique(codes):
        faces = np.flatnonzero(codes == code)[:k]
        if len(faces) < k:
            continue
        scores = rule(embeddings @ embeddings[faces].T, np.array([0]), np.array([k]))[:, 0]
        counts += _binned(scores[codes != code])
    return counts


def measured_tails(embeddings: np.ndarray, labels: np.ndarray, up_to: int,
                   score: str = SCORE, data: str = "") -> ImpostorTails:
    """The tails for people of 1..``up_to`` faces under rule ``score``."""
    tails = [measured_tail(impostor_histogram(embeddings, labels))]
    tails += [measured_tail(template_histogram(embeddings, labels, k, score))
              for k in range(2, up_to + 1)]
    return ImpostorTails(tuple(tails), data)


def _binned(sims: np.ndarray) -> np.ndarray:
    index = np.clip(((sims + 1.0) * (BINS / 2)).astype(np.int64), 0, BINS - 1)
    return np.bincount(index, minlength=BINS)


def tail_points(counts: np.ndarray, rates: tuple[float, ...]
                ) -> list[tuple[float, float | None]]:
    """(rate, similarity) for each rate: the lowest bin edge at or above which at most
    that share of the pairs lie (None where fewer than one pair would)."""
    total = int(counts.sum())
    above = np.cumsum(counts[::-1])[::-1]  # pairs at or above each bin's lower edge
    points: list[tuple[float, float | None]] = []
    for rate in rates:
        if rate * total < 1:
            points.append((rate, None))
            continue
        first = int(np.argmax(above <= rate * total))
        points.append((rate, round(first * 2.0 / BINS - 1.0, 4)))
    return points


def measured_tail(counts: np.ndarray) -> ImpostorTail:
    """The tail down to ``LOWEST_RATE`` (where at least ``MIN_PAIRS`` pairs back each
    point), continued below at the slope fitted over its last two decades."""
    total = int(counts.sum())
    points = [(r, s) for r, s in tail_points(counts, TAIL_RATES)
              if s is not None and r >= LOWEST_RATE and r * total >= MIN_PAIRS]
    fit = [(np.log10(r), s) for r, s in points if r <= 100 * points[-1][0]]
    slope = -np.polyfit([x for x, _ in fit], [s for _, s in fit], 1)[0]
    return ImpostorTail(tuple(points), total, round(float(slope), 4))


def tail_literal(tail: ImpostorTail, indent: str, width: int = 92) -> str:
    """``tail`` as the Python that ``facerec/models/impostor_tails.py`` holds."""
    lines, line = [], indent + "    "
    for rate, sim in tail.points:
        item = f"({rate:.0e}, {sim:.4f}), "
        if len(line + item.rstrip()) > width:
            lines.append(line.rstrip())
            line = indent + "    "
        line += item
    lines.append(line.rstrip(", ") + ")),")
    return (f"{indent}ImpostorTail(pairs={tail.pairs}, per_decade={tail.per_decade}, "
            f"points=(\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sface-2021dec")
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--up-to", type=int, default=10, metavar="K",
                        help="measure the tails for people of 1..K faces")
    parser.add_argument("--top", type=int, default=0, metavar="N",
                        help="also list the N most similar pairs of different people")
    args = parser.parse_args()
    found = lfw_faces(args.model, args.faces)
    people = len(set(found.labels))
    tails = measured_tails(found.embeddings, found.labels, args.up_to).by_faces
    print(f"{args.model.upper().replace('-', '_')} = ImpostorTails(")
    print(f'    data="{len(found.labels):,} LFW faces of {people:,} people, every pair of '
          f'different people; "')
    print(f'         "python scripts/measure_impostors.py --model {args.model}",')
    print("    by_faces=(")
    for tail in tails:
        print(tail_literal(tail, "        "))
    print("    ))")
    if args.top:
        print_top_pairs(found.embeddings, found.labels, found.paths, args.top)


def print_top_pairs(embeddings: np.ndarray, labels: np.ndarray, paths: np.ndarray,
                    top: int) -> None:
    """The ``top`` most similar pairs of photos filed under different names (LFW's
    label errors, the same person under two names, show here)."""
    codes = np.unique(labels, return_inverse=True)[1]
    best: list[tuple[float, int, int]] = []
    for start in range(0, len(embeddings), CHUNK):
        sims = embeddings[start:start + CHUNK] @ embeddings.T
        rows = np.arange(start, start + len(sims))
        sims[(codes[rows, None] == codes[None, :]) |
             (np.arange(len(embeddings))[None, :] <= rows[:, None])] = -2.0
        for r, c in zip(*np.unravel_index(np.argsort(sims, axis=None)[-top:], sims.shape)):
            best.append((float(sims[r, c]), start + int(r), int(c)))
    for sim, a, b in sorted(best, reverse=True)[:top]:
        print(f"# {sim:.3f}  {paths[a]}  {paths[b]}")


if __name__ == "__main__":
    main()
