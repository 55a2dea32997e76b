"""The open-set decision: a threshold that keeps strangers strangers at any gallery size.

A person's score for a face is the mean similarity to their two nearest enrolled faces
(``facerec.recognition.matching``). A stranger's face is compared with every enrolled person and is
named when one of them passes the threshold. If one comparison with a person of ``k``
faces passes a threshold ``t`` with probability ``p_k(t)`` (the model's *impostor tail*
for ``k`` faces, measured once on millions of pairs of different people by
``scripts/measure_impostors.py``), a stranger facing the gallery gets some name with
probability ``1 - prod over people (1 - p_k(t))``: the false positive identification
rate (FPIR). The threshold is the similarity at which that rate is the target (1% by
default) for the people and faces enrolled now; it rises as people are enrolled and falls
as they are removed, and it is never below the model's own pair threshold, so a small
gallery names no more strangers than a pair comparison would.

The threshold is set for ``SAFETY`` times fewer strangers than the target: people and
photos other than LFW's may look more alike (two random halves of LFW's people already
differ by up to 20% in how often strangers reach a threshold), and a target is a promise.
Comparisons of one stranger with many people are not independent either (a face that
looks like one person tends to look like others), which makes the true rate lower still:
the rule errs on the side of ``unknown``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_FPIR = 0.01
"""The share of strangers that may be given a name, unless the caller says otherwise."""

SAFETY = 2.0
"""The threshold expects this many times fewer strangers named than the target allows."""

TAIL_RATES = tuple(m * 10.0 ** -e for e in range(1, 10) for m in (5, 2, 1))[1:]
"""The rates a measured impostor tail gives the similarity for: 0.2, 0.1, 0.05, ... 1e-9
(``scripts/measure_impostors.py`` keeps those its pairs back)."""


@dataclass(frozen=True)
class ImpostorTail:
    """The upper tail of a model's similarities between a face and a different person.

    Attributes:
        points: (rate, similarity) pairs, rates falling and similarities rising: a share
            ``rate`` of the measured pairs of different people reach ``similarity``.
        pairs: how many pairs were measured.
        per_decade: how much the similarity rises for each tenfold fall in the rate
            below the last point (fitted over the last measured decades; the tail is
            exponential there).
    """

    points: tuple[tuple[float, float], ...]
    pairs: int
    per_decade: float

    def __post_init__(self) -> None:
        rates = [r for r, _ in self.points]
        sims = [s for _, s in self.points]
        if len(self.points) < 2 or rates != sorted(rates, reverse=True) or \
                sims != sorted(sims) or self.per_decade <= 0:
            raise ValueError("an impostor tail needs two or more points, rates falling, "
                             "similarities rising, and a positive slope beyond them")

    def similarity_at(self, rate: float) -> float:
        """The similarity that a share ``rate`` (0 < rate < 1) of impostor pairs reaches:
        interpolated linearly in log(rate) between measured points, continued at
        ``per_decade`` below the last one and along the first two above the first."""
        if not 0.0 < rate < 1.0:
            raise ValueError("rate must be between 0 and 1")
        x = math.log10(rate)
        logs = [(math.log10(r), s) for r, s in self.points]
        if x <= logs[-1][0]:
            return logs[-1][1] + self.per_decade * (logs[-1][0] - x)
        i = next((i for i in range(1, len(logs)) if logs[i][0] <= x), 1)
        (x0, s0), (x1, s1) = logs[i - 1], logs[i]
        return s0 + (s1 - s0) * (x - x0) / (x1 - x0)

    def rate_at(self, similarity: float) -> float:
        """The share of impostor pairs reaching ``similarity`` (``similarity_at``'s
        inverse), at most 1."""
        logs = [(math.log10(r), s) for r, s in self.points]
        if similarity >= logs[-1][1]:
            x = logs[-1][0] - (similarity - logs[-1][1]) / self.per_decade
        else:
            i = next((i for i in range(1, len(logs)) if logs[i][1] >= similarity), 1)
            (x0, s0), (x1, s1) = logs[i - 1], logs[i]
            x = x0 + (x1 - x0) * (similarity - s0) / (s1 - s0)
        return min(1.0, 10.0 ** x)


@dataclass(frozen=True)
class ImpostorTails:
    """A model's impostor tails for a person enrolled with 1, 2, ... K faces.

    Attributes:
        by_faces: the tail of the score against a person of ``k`` faces at index
            ``k - 1``, measured for k up to K.
        data: what was measured, and the command that measured it.
    """

    by_faces: tuple[ImpostorTail, ...]
    data: str

    def for_faces(self, faces: int) -> ImpostorTail:
        """The measured tail for a person of ``faces`` faces (at most K)."""
        if not 1 <= faces <= len(self.by_faces):
            raise ValueError(f"tails are measured for 1 to {len(self.by_faces)} faces")
        return self.by_faces[faces - 1]

    def rate(self, faces: int, threshold: float) -> float:
        """How often a stranger's score against a person of ``faces`` faces reaches
        ``threshold``. Past the K measured, a bound: the score is at most the nearest
        face's similarity, which reaches the threshold with at most ``faces`` times the
        single-face rate."""
        if faces <= len(self.by_faces):
            return self.for_faces(max(faces, 1)).rate_at(threshold)
        return min(1.0, faces * self.by_faces[0].rate_at(threshold))

    def fpir(self, gallery: Mapping[int, int], threshold: float) -> float:
        """The share of strangers named at ``threshold`` by a gallery of
        ``{faces per person: people}``."""
        log_kept = sum(people * math.log1p(-min(self.rate(k, threshold), 1.0 - 1e-15))
                       for k, people in gallery.items())
        return -math.expm1(log_kept)

    def threshold(self, gallery: Mapping[int, int], fpir: float, safety: float = SAFETY
                  ) -> float:
        """The lowest similarity at which a gallery of ``{faces per person: people}`` is
        expected to name at most a share ``fpir / safety`` of strangers (to 1e-5)."""
        if not 0.0 < fpir < 1.0:
            raise ValueError("the false identification rate must be between 0 and 1")
        expected = fpir / safety
        low, high = -1.0, 1.0
        while high - low > 1e-5:
            middle = (low + high) / 2
            if self.fpir(gallery, middle) > expected:
                low = middle
            else:
                high = middle
        return round(high, 5)
