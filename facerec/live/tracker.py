"""Following faces from frame to frame, and naming each track by a vote.

Detections are matched to tracks greedily by IoU (best overlap first). A track is
embedded when it appears, then every ``refresh`` frames or when its face has grown by
``grow`` since its last embedding; its name is a similarity-weighted vote over its last
``votes`` identifications, so one odd frame does not change it.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np
import torch
from torchvision.ops import box_iou

from facerec.names import UNKNOWN
from facerec.results import Match
from facerec.types import Detection


@dataclass
class Track:
    """A face followed over frames."""

    id: int
    detection: Detection
    first_seen: float
    last_seen: float
    last_embedded_frame: int = -1
    embedded_area: float = 0.0
    missed: int = 0
    history: deque = field(default_factory=lambda: deque(maxlen=5))
    reported_name: str | None = None
    reported_unknown: bool = False

    @property
    def name(self) -> str:
        """The vote over recent identifications (``unknown`` before the first one)."""
        if not self.history:
            return UNKNOWN
        weights: Counter[str] = Counter()
        for person, similarity in self.history:
            weights[person] += max(similarity, 0.0) + 1e-3
        return weights.most_common(1)[0][0]

    @property
    def similarity(self) -> float:
        name = self.name
        values = [s for p, s in self.history if p == name]
        return float(np.mean(values)) if values else 0.0


class IouTracker:
    """Greedy IoU tracker.

    Args:
        iou: least overlap for a detection to continue a track.
        max_missed: frames a track may go undetected before it ends.
        refresh: re-embed a track at least every this many frames.
        grow: re-embed when the face area grew by this factor since the last embedding.
        votes: identifications kept per track for the name vote.
    """

    def __init__(self, iou: float = 0.3, max_missed: int = 10, refresh: int = 15,
                 grow: float = 1.5, votes: int = 5) -> None:
        self.iou, self.max_missed, self.refresh, self.grow = iou, max_missed, refresh, grow
        self.votes = votes
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, detections: list[Detection], now: float) -> tuple[list[Track], list[Track]]:
        """Match this frame's detections; returns (tracks seen this frame, tracks ended)."""
        unmatched = set(range(len(detections)))
        matched: list[Track] = []
        if self.tracks and detections:
            overlaps = box_iou(torch.tensor([t.detection.box for t in self.tracks]),
                               torch.tensor([d.box for d in detections])).numpy()
            for flat in np.argsort(-overlaps, axis=None):
                t, d = divmod(int(flat), len(detections))
                if overlaps[t, d] < self.iou:
                    break
                track = self.tracks[t]
                if d in unmatched and track not in matched:
                    track.detection, track.last_seen, track.missed = detections[d], now, 0
                    matched.append(track)
                    unmatched.discard(d)
        ended = []
        for track in self.tracks:
            if track not in matched:
                track.missed += 1
                if track.missed > self.max_missed:
                    ended.append(track)
        self.tracks = [t for t in self.tracks if t not in ended]
        for d in sorted(unmatched):
            track = Track(self._next_id, detections[d], now, now,
                          history=deque(maxlen=self.votes))
            self._next_id += 1
            self.tracks.append(track)
            matched.append(track)
        return matched, ended

    def needs_embedding(self, track: Track, frame_index: int) -> bool:
        """Whether to embed this track's face in this frame."""
        return (track.last_embedded_frame < 0
                or frame_index - track.last_embedded_frame >= self.refresh
                or track.detection.area > self.grow * track.embedded_area)

    @staticmethod
    def record(track: Track, match: Match, frame_index: int) -> None:
        """Add one identification of the track's face to its vote."""
        track.history.append((match.person, match.similarity))
        track.last_embedded_frame = frame_index
        track.embedded_area = track.detection.area
