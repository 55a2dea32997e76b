"""The live loop: frames -> detection -> tracking -> (sometimes) embedding -> named tracks.

Detection runs on every frame; a face is embedded only when its track needs it (see
``tracker``), so recognition costs little once everyone in view is named. Several
cameras run in one process (``run_cameras``): each has its own ``Watcher`` (tracker,
clock, events), and their frames go through the networks together, one batch per step.

What a camera sees goes to its ``Sink``: events, and the view (who is in view now)
whenever it changes. Events are JSON objects:

* ``person_appeared``: a track's name became a known person (track, person, similarity);
* ``unknown_lingering``: a face has stayed unknown for more than ``unknown_after`` s;
* ``track_ended``: a face left (track, person, duration).

``time`` is seconds since the camera's first frame: the video's own clock for a file,
the wall clock for a camera or stream; ``camera`` names the camera when it has a name.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import cv2
import numpy as np
import torch

from facerec.errors import SourceError
from facerec.formats.annotate import draw_matches
from facerec.live.capture import Frame, FrameSource
from facerec.live.tracker import IouTracker, Track
from facerec.names import UNKNOWN
from facerec.recognition.recognizer import Recognizer
from facerec.results import Match

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class View:
    """Who a camera sees now: the known people in view (sorted, each once) and how many
    faces in view are of nobody enrolled (or not named yet)."""

    people: tuple[str, ...] = ()
    unknown: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"people": list(self.people), "unknown": self.unknown,
                "faces": len(self.people) + self.unknown}


class Sink(Protocol):
    """Where a camera's events and view go (JSON lines, MQTT, ...)."""

    def event(self, event: dict, image: np.ndarray | None) -> None:
        """One event; ``image`` is the RGB (H, W, 3) frame it happened in (None for a
        track ended by the source's end)."""

    def view(self, view: View) -> None:
        """Who is in view now (called when it changed)."""

    def tick(self) -> None:
        """Called after every frame (cheap; for work a sink does now and then)."""

    def close(self) -> None:
        """The camera stopped."""


class JsonLines:
    """A sink writing each event as one JSON object per line, flushed at once."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def event(self, event: dict, image: np.ndarray | None) -> None:
        with self._lock:
            self.stream.write(json.dumps(event) + "\n")
            self.stream.flush()

    def view(self, view: View) -> None:
        pass

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


def json_lines(stream: IO[str]) -> JsonLines:
    """A sink writing JSON lines to ``stream``."""
    return JsonLines(stream)


class Sinks:
    """Several sinks as one."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def event(self, event: dict, image: np.ndarray | None) -> None:
        for sink in self.sinks:
            sink.event(event, image)

    def view(self, view: View) -> None:
        for sink in self.sinks:
            sink.view(view)

    def tick(self) -> None:
        for sink in self.sinks:
            sink.tick()

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


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


@dataclass
class _Step:
    """One frame of one camera between detection and naming."""

    frame: Frame
    now: float
    seen: list[Track]
    ended: list[Track]
    todo: list[Track]


class Watcher:
    """One camera's live loop: its tracker, clock, events and view.

    Args:
        recognizer: names faces from its database.
        sink: where events and the view go.
        unknown_after: seconds an unknown face may stay before ``unknown_lingering``.
        tracker: the tracker (default settings if None).
        camera: the camera's name, added to its events (none if None).
    """

    def __init__(self, recognizer: Recognizer, sink: Sink, unknown_after: float = 5.0,
                 tracker: IouTracker | None = None, camera: str | None = None) -> None:
        self.recognizer, self.sink, self.unknown_after = recognizer, sink, unknown_after
        self.tracker = tracker or IouTracker()
        self.camera = camera
        self.stats = WatchStats()
        self._start_wall: float | None = None
        self._appeared_wall: dict[int, float] = {}
        self._origin: float | None = None
        self._view = View()

    def clock(self, frame: Frame) -> float:
        """Seconds from the first frame to ``frame``."""
        if self._origin is None:
            self._origin = frame.time
        return frame.time - self._origin

    def step(self, frame: Frame) -> np.ndarray:
        """Process one frame; returns it annotated (RGB)."""
        annotated = step_together([(self, frame)])[0]
        assert annotated is not None
        return annotated

    def finish(self, now: float | None = None) -> None:
        """End every open track (the source is over)."""
        end = now if now is not None else (self.tracker.tracks[0].last_seen
                                           if self.tracker.tracks else 0.0)
        for track in list(self.tracker.tracks):
            self._end(track, max(end, track.last_seen), None)
        self.tracker.tracks.clear()
        self._show(View())

    def _track(self, frame: Frame, detections: list) -> _Step:
        if self._start_wall is None:
            self._start_wall = time.perf_counter()
        now = self.clock(frame)
        seen, ended = self.tracker.update(detections, now)
        for track in seen:
            self._appeared_wall.setdefault(track.id, time.perf_counter())
        todo = [t for t in seen if self.tracker.needs_embedding(t, frame.index)]
        return _Step(frame, now, seen, ended, todo)

    def _conclude(self, step: _Step, draw: bool = True) -> np.ndarray | None:
        for track in step.seen:
            self._report(track, step.now, step.frame.image)
        for track in step.ended:
            self._end(track, step.now, step.frame.image)
        tracks = self.tracker.tracks
        named = tuple(sorted({t.name for t in tracks if t.name != UNKNOWN}))
        self._show(View(named, sum(1 for t in tracks if t.name == UNKNOWN)))
        self.sink.tick()
        self.stats.frames += 1
        self.stats.seconds = time.perf_counter() - (self._start_wall or 0.0)
        return self._draw(step.frame.image, step.seen) if draw else None

    def _show(self, view: View) -> None:
        if view != self._view:
            self._view = view
            self.sink.view(view)

    def _emit(self, event: dict, image: np.ndarray | None) -> None:
        if self.camera is not None:
            event["camera"] = self.camera
        self.sink.event(event, image)

    def _report(self, track: Track, now: float, image: np.ndarray) -> None:
        name = track.name
        if name != UNKNOWN and name != track.reported_name:
            track.reported_name = name
            self.stats.naming_delays.append(
                time.perf_counter() - self._appeared_wall.get(track.id, time.perf_counter()))
            self._emit({"event": "person_appeared", "time": round(now, 3), "track": track.id,
                        "person": name, "similarity": round(track.similarity, 4),
                        "box": [round(v, 1) for v in track.detection.box]}, image)
        elif (name == UNKNOWN and not track.reported_unknown
              and now - track.first_seen > self.unknown_after):
            track.reported_unknown = True
            self._emit({"event": "unknown_lingering", "time": round(now, 3),
                        "track": track.id, "seconds": round(now - track.first_seen, 3),
                        "box": [round(v, 1) for v in track.detection.box]}, image)

    def _end(self, track: Track, now: float, image: np.ndarray | None) -> None:
        self._emit({"event": "track_ended", "time": round(now, 3), "track": track.id,
                    "person": track.name,
                    "duration": round(track.last_seen - track.first_seen, 3)}, image)

    def _draw(self, image: np.ndarray, tracks: list[Track]) -> np.ndarray:
        matches = [Match(t.detection, t.name, t.similarity, ()) for t in tracks]
        out = draw_matches(image, matches)
        cv2.putText(out, f"{self.stats.fps:.1f} fps", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                    (255, 255, 0), 2, cv2.LINE_AA)
        return out


def step_together(frames: Sequence[tuple[Watcher, Frame]], draw: bool = True
                  ) -> list[np.ndarray | None]:
    """One frame for each of several watchers (one per camera, sharing a recognizer):
    the frames are detected in one batch and the faces that need it embedded and named
    in one batch; each watcher tracks and reports its own. Returns the frames annotated
    (RGB) in order, or Nones when not ``draw``."""
    recognizer = frames[0][0].recognizer
    analyzer = recognizer.analyzer
    found = analyzer.detector.detect([frame.image for _, frame in frames], frames=True)
    steps = [watcher._track(frame, detections)
             for (watcher, frame), detections in zip(frames, found)]
    todo = [(watcher, step, track) for (watcher, _), step in zip(frames, steps)
            for track in step.todo]
    if todo:
        crops = torch.cat([analyzer.align(step.frame.image, [t.detection for t in step.todo])
                           for step in steps if step.todo])
        matches = recognizer.match(list(analyzer.embed_crops(crops)),
                                   [track.detection for _, _, track in todo])
        for (watcher, step, track), match in zip(todo, matches):
            watcher.tracker.record(track, match, step.frame.index)
    return [watcher._conclude(step, draw) for (watcher, _), step in zip(frames, steps)]


@dataclass
class Camera:
    """A named source and its watcher, for ``run_cameras``.

    Attributes:
        error: why the source stopped early (a stream that did not come back), if it did.
    """

    name: str
    source: FrameSource
    watcher: Watcher
    error: str | None = None
    _frames: Iterator[Frame] | None = field(default=None, init=False, repr=False)

    def next_frame(self) -> Frame | None:
        """The next frame to process: a file's next frame, a live source's newest (None
        when none arrived since the last one). StopIteration at the end."""
        if self.source.live:
            return self.source.poll()
        if self._frames is None:
            self._frames = iter(self.source)
        return next(self._frames)


def run_cameras(cameras: Sequence[Camera], ready: threading.Event | None = None,
                show: bool = False, out: Path | None = None,
                max_frames: int | None = None) -> None:
    """Drive every camera until its source ends (or ``max_frames`` frames each); ``q``
    in a window or Ctrl-C stops them all. A camera whose source fails stops alone, with
    its ``error`` set; the others go on.

    Args:
        cameras: the cameras, their sources open and watchers ready (stats land there).
        ready: the event the live sources set on each new frame (they were opened with
            it); needed when any source is live.
        show: a window per camera.
        out: for one camera, a video file (.mp4, .avi) of the annotated frames.
    """
    writer: cv2.VideoWriter | None = None
    active = list(cameras)
    last_time = {camera.name: 0.0 for camera in cameras}
    try:
        while active:
            batch: list[tuple[Camera, Frame]] = []
            for camera in list(active):
                try:
                    frame = camera.next_frame()
                except (StopIteration, SourceError) as exc:
                    if isinstance(exc, SourceError):
                        camera.error = str(exc)
                    active.remove(camera)
                    _stop(camera, last_time[camera.name])
                    continue
                if frame is not None:
                    batch.append((camera, frame))
            if not batch:
                if active and ready is not None:
                    ready.wait(0.5)
                    ready.clear()
                continue
            annotated = step_together([(camera.watcher, frame) for camera, frame in batch],
                                      draw=show or out is not None)
            for (camera, frame), picture in zip(batch, annotated):
                last_time[camera.name] = camera.watcher.clock(frame)
                if picture is not None:
                    bgr = np.ascontiguousarray(picture[:, :, ::-1])
                    if out is not None:
                        writer = writer or _video_writer(out, camera.source.fps, bgr.shape)
                        writer.write(bgr)
                    if show:
                        cv2.imshow(f"facerec {camera.name}", bgr)
                if max_frames is not None and camera.watcher.stats.frames >= max_frames:
                    active.remove(camera)
                    _stop(camera, last_time[camera.name])
            if show and cv2.waitKey(1) & 0xFF == ord("q"):
                break
    finally:
        for camera in active:
            _stop(camera, last_time[camera.name])
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()


def _stop(camera: Camera, last_time: float) -> None:
    """End a camera's tracks, close its source, and tell its sink."""
    camera.watcher.finish(last_time)
    camera.watcher.stats.dropped = camera.source.dropped
    camera.watcher.stats.undecodable = camera.source.undecodable
    camera.source.close()
    camera.watcher.sink.close()
    if camera.error:
        log.error("camera %s stopped: %s", camera.name, camera.error)


def run(source: FrameSource, watcher: Watcher, show: bool = False,
        out: Path | None = None, max_frames: int | None = None) -> WatchStats:
    """Drive ``watcher`` over one ``source`` (see ``run_cameras``); ``q`` in the window
    or Ctrl-C stops it. ``out`` (.mp4 or .avi) receives the annotated frames at the
    source's frame rate.

    Raises:
        SourceError: the source stopped delivering frames (a stream that did not come
            back).
    """
    ready = source.ready
    if source.live and ready is None:
        ready = source.ready = threading.Event()
    camera = Camera(watcher.camera or "camera", source, watcher)
    run_cameras([camera], ready, show, out, max_frames)
    if camera.error:
        raise SourceError(camera.error)
    return watcher.stats


def _video_writer(path: Path, fps: float, shape: tuple[int, ...]) -> cv2.VideoWriter:
    codec = "mp4v" if path.suffix.lower() == ".mp4" else "MJPG"
    return cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*codec), fps,
                           (shape[1], shape[0]))
