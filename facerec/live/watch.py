"""The live loop: frames -> detection -> tracking -> (sometimes) embedding -> named tracks.

Detection runs on every frame; a face is embedded only when its track needs it (see
``tracker``), so recognition costs little once everyone in view is named. Events are
JSON objects, one per line:

* ``person_appeared``: a track's name became a known person (track, person, similarity);
* ``unknown_lingering``: a face has stayed unknown for more than ``unknown_after`` s;
* ``track_ended``: a face left (track, person, duration).

``time`` is seconds since the first frame: the video's own clock for a file, the wall
clock for a camera or stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from ..annotate import draw_matches
from ..names import UNKNOWN
from ..recognizer import Recognizer
from ..results import Match
from .capture import Frame, FrameSource
from .tracker import IouTracker, Track

Emit = Callable[[dict], None]


@dataclass
class WatchStats:
    """What a run did: frames processed, seconds, dropped frames (a live source read
    faster than processed), undecodable frames (a damaged file), naming delays (s)."""

    frames: int = 0
    seconds: float = 0.0
    dropped: int = 0
    undecodable: int = 0
    naming_delays: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def json_lines(stream: IO[str]) -> Emit:
    """An event sink writing one JSON object per line, flushed at once."""
    def emit(event: dict) -> None:
        stream.write(json.dumps(event) + "\n")
        stream.flush()
    return emit


class Watcher:
    """Runs the live loop over one source.

    Args:
        recognizer: names faces from its database.
        emit: where events go.
        unknown_after: seconds an unknown face may stay before ``unknown_lingering``.
        tracker: the tracker (default settings if None).
    """

    def __init__(self, recognizer: Recognizer, emit: Emit, unknown_after: float = 5.0,
                 tracker: IouTracker | None = None) -> None:
        self.recognizer, self.emit, self.unknown_after = recognizer, emit, unknown_after
        self.tracker = tracker or IouTracker()
        self.stats = WatchStats()
        self._start_wall = time.perf_counter()
        self._appeared_wall: dict[int, float] = {}
        self._origin: float | None = None

    def clock(self, frame: Frame) -> float:
        """Seconds from the first frame to ``frame``."""
        if self._origin is None:
            self._origin = frame.time
        return frame.time - self._origin

    def step(self, frame: Frame) -> np.ndarray:
        """Process one frame; returns it annotated (RGB)."""
        now = self.clock(frame)
        analyzer = self.recognizer.analyzer
        seen, ended = self.tracker.update(analyzer.detector.detect([frame.image])[0], now)
        for track in seen:
            self._appeared_wall.setdefault(track.id, time.perf_counter())
        todo = [t for t in seen if self.tracker.needs_embedding(t, frame.index)]
        if todo:
            crops = analyzer.align(frame.image, [t.detection for t in todo])
            matches = self.recognizer.match(list(analyzer.embed_crops(crops)),
                                    [t.detection for t in todo])
            for track, match in zip(todo, matches):
                self.tracker.record(track, match, frame.index)
        for track in seen:
            self._report(track, now)
        for track in ended:
            self._end(track, now)
        self.stats.frames += 1
        self.stats.seconds = time.perf_counter() - self._start_wall
        return self._draw(frame.image, seen)

    def finish(self, now: float | None = None) -> None:
        """End every open track (the source is over)."""
        end = now if now is not None else (self.tracker.tracks[0].last_seen
                                           if self.tracker.tracks else 0.0)
        for track in list(self.tracker.tracks):
            self._end(track, max(end, track.last_seen))
        self.tracker.tracks.clear()

    def _report(self, track: Track, now: float) -> None:
        name = track.name
        if name != UNKNOWN and name != track.reported_name:
            track.reported_name = name
            self.stats.naming_delays.append(
                time.perf_counter() - self._appeared_wall.get(track.id, time.perf_counter()))
            self.emit({"event": "person_appeared", "time": round(now, 3), "track": track.id,
                       "person": name, "similarity": round(track.similarity, 4),
                       "box": [round(v, 1) for v in track.detection.box]})
        elif (name == UNKNOWN and not track.reported_unknown
              and now - track.first_seen > self.unknown_after):
            track.reported_unknown = True
            self.emit({"event": "unknown_lingering", "time": round(now, 3),
                       "track": track.id, "seconds": round(now - track.first_seen, 3),
                       "box": [round(v, 1) for v in track.detection.box]})

    def _end(self, track: Track, now: float) -> None:
        self.emit({"event": "track_ended", "time": round(now, 3), "track": track.id,
                   "person": track.name, "duration": round(track.last_seen - track.first_seen, 3)})

    def _draw(self, image: np.ndarray, tracks: list[Track]) -> np.ndarray:
        matches = [Match(t.detection, t.name, t.similarity, ()) for t in tracks]
        out = draw_matches(image, matches)
        cv2.putText(out, f"{self.stats.fps:.1f} fps", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                    (255, 255, 0), 2, cv2.LINE_AA)
        return out


def run(source: FrameSource, watcher: Watcher, show: bool = False,
        out: Path | None = None, max_frames: int | None = None) -> WatchStats:
    """Drive ``watcher`` over ``source``; ``q`` in the window or Ctrl-C stops it.

    ``out`` (.mp4 or .avi) receives the annotated frames at the source's frame rate.
    """
    last_time = 0.0
    writer: cv2.VideoWriter | None = None
    try:
        for frame in source:
            annotated = watcher.step(frame)
            last_time = watcher.clock(frame)
            bgr = np.ascontiguousarray(annotated[:, :, ::-1])
            if out is not None:
                writer = writer or _video_writer(out, source.fps, bgr.shape)
                writer.write(bgr)
            if show:
                cv2.imshow("facerec", bgr)
                if cv2.waitKey(1) & 0xFF == ord("q"):
                    break
            if max_frames is not None and watcher.stats.frames >= max_frames:
                break
    finally:
        watcher.finish(last_time)
        watcher.stats.dropped = source.dropped
        watcher.stats.undecodable = source.undecodable
        source.close()
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
    return watcher.stats


def _video_writer(path: Path, fps: float, shape: tuple[int, ...]) -> cv2.VideoWriter:
    codec = "mp4v" if path.suffix.lower() == ".mp4" else "MJPG"
    return cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps,
                           (shape[1], shape[0]))
