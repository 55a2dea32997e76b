"""Frame sources: cameras, video files and network streams, opened by OpenCV.

Live sources (a camera index or a stream URL) are opened and read by a background thread
that keeps only the newest frame, so a slow consumer drops frames instead of queueing them,
and a camera that is slow to open, or stalls, holds up no other; a network stream gets
``OPEN_TIMEOUT`` seconds to open and ``READ_TIMEOUT`` seconds per frame, after which it
counts as dropped (reopened, then given up). A file is read frame by frame at the
consumer's pace, so nothing in it is skipped. A file damaged
in the middle is read on past the damage: frames that cannot be decoded are counted
(``undecodable``), and reading stops at the file's last frame or after
``MAX_BAD_RUN`` undecodable frames in a row.

An OpenCV capture is not safe to use from two threads: the reader thread holds
``_device`` while it reads or reopens, and the capture is released under that lock by
whoever comes last, ``close()`` or the reader finishing a read it was in when told to stop.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

from facerec.errors import SourceError

log = logging.getLogger(__name__)

MAX_BAD_RUN = 250
"""Undecodable frames in a row after which a file is taken to end there."""

OPEN_TIMEOUT = 10.0
"""Seconds a network stream may take to open (a camera that sends its headers and then
nothing would otherwise hold the open for FFmpeg's 30 s)."""

READ_TIMEOUT = 10.0
"""Seconds a network stream may go without delivering a frame before it counts as
dropped."""

CLOSE_WAIT = 2.0
"""Seconds ``close()`` waits for a live reader to stop; a reader still blocked in a read
after that releases the device itself once the read returns."""


@dataclass(frozen=True)
class Frame:
    """One frame: RGB uint8 (H, W, 3), its index in the source, its time in seconds."""

    image: np.ndarray
    index: int
    time: float


def parse_source(text: str) -> int | str:
    """A camera index (``"0"``) as int; anything else (file, URL) as given."""
    return int(text) if text.isdigit() else text


def is_live(source: int | str) -> bool:
    return isinstance(source, int) or "://" in source


class FrameSource:
    """Iterate over the frames of ``source``; ``close()`` releases the device.

    Args:
        source: camera index, video file path or stream URL.
        reconnects: for streams, how many times to reopen after the stream drops.
        ready: for live sources, set whenever a new frame arrives or the source ends, so
            one thread can wait on several sources (see ``poll``).
    """

    def __init__(self, source: int | str, reconnects: int = 3,
                 ready: threading.Event | None = None) -> None:
        self.source = source
        self.ready = ready
        self.live = is_live(source)
        self.reconnects = reconnects
        self.dropped = 0
        self.undecodable = 0
        """Frames of a file that could not be decoded and were passed over."""
        self._capture: cv2.VideoCapture | None = None  # a live one opens in its reader
        self._frames, self.fps = 0, 30.0
        if not self.live:
            self._capture = self._open()
            self._frames = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
        self._latest: Frame | None = None
        self._ended = False
        self._error: str | None = None
        self._lock = threading.Condition()
        self._device = threading.Lock()
        self._released = False
        self._thread: threading.Thread | None = None
        if self.live:
            self._thread = threading.Thread(target=self._pump, daemon=True)
            self._thread.start()

    def _open(self) -> cv2.VideoCapture:
        if isinstance(self.source, str) and "://" in self.source:
            capture = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(OPEN_TIMEOUT * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(READ_TIMEOUT * 1000)])
        else:
            capture = cv2.VideoCapture(self.source)
        if not capture.isOpened():
            kind = "camera" if isinstance(self.source, int) else "video or stream"
            raise SourceError(f"cannot open {kind} {self.source!r}")
        return capture

    def _read(self, index: int) -> Frame | None:
        assert self._capture is not None
        ok, bgr = self._capture.read()
        if not ok or bgr is None:
            return None
        t = index / self.fps if not self.live else time.monotonic()
        return Frame(np.ascontiguousarray(bgr[:, :, ::-1]), index, t)

    def _pump(self) -> None:
        try:
            if self._opened():
                self._pump_frames()
        finally:
            with self._lock:
                self._ended = True
                self._lock.notify()
            if self.ready is not None:
                self.ready.set()
            self._release()

    def _opened(self) -> bool:
        """Open the live source in the reader thread; False when it cannot be opened
        (the reason kept for the consumer) or was closed meanwhile."""
        try:
            capture = self._open()
        except SourceError as exc:
            self._error = str(exc)
            return False
        with self._device:
            self._capture = capture
            if self._ended:
                return False  # closed while opening: released on the way out
            self.fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        return True

    def _pump_frames(self) -> None:
        index, retries = 0, 0
        while True:
            with self._device:
                if self._ended:
                    return
                frame = self._read(index)
            if frame is None:
                if isinstance(self.source, str) and retries < self.reconnects:
                    retries += 1
                    log.warning("stream dropped; reconnecting (%d/%d)", retries, self.reconnects)
                    time.sleep(min(2.0 ** retries * 0.25, 4.0))
                    if self._reopen():
                        continue
                self._error = self._error or f"{self.source!r} stopped delivering frames"
                return
            retries = 0
            with self._lock:
                if self._latest is not None:
                    self.dropped += 1
                self._latest = frame
                self._lock.notify()
            if self.ready is not None:
                self.ready.set()
            index += 1

    def _reopen(self) -> bool:
        """Open the stream again in place of the dropped one; False if it cannot be."""
        with self._device:
            if self._ended:
                return False
            assert self._capture is not None
            self._capture.release()
            try:
                self._capture = self._open()
                return True
            except SourceError as exc:
                self._error = str(exc)
                return False

    def _release(self) -> None:
        with self._device:
            if not self._released and self._capture is not None:
                self._released = True
                self._capture.release()

    def _read_file(self, index: int) -> Frame | None:
        """The next decodable frame of a file, taking the next unread one as frame
        ``index``; frames passed over count as undecodable. None at the file's end."""
        misses = 0
        while True:
            frame = self._read(index + misses)
            if frame is not None:
                self.undecodable += misses
                return frame
            misses += 1
            if index + misses >= self._frames or misses >= MAX_BAD_RUN:
                self.undecodable += max(0, self._frames - index)
                return None

    def __iter__(self):
        index = 0
        while True:
            if not self.live:
                frame = self._read_file(index)
                if frame is None:
                    return
                index = frame.index + 1
                yield frame
                continue
            with self._lock:
                while self._latest is None and not self._ended:
                    self._lock.wait(timeout=1.0)
                frame, self._latest = self._latest, None
            if frame is None:
                if self._error:
                    raise SourceError(self._error)
                return
            yield frame

    def poll(self) -> Frame | None:
        """A live source's newest frame not taken yet, or None without waiting.

        Raises:
            StopIteration: the source has ended (and every frame was taken).
            SourceError: the source stopped delivering frames (a stream that did not
                come back).
        """
        with self._lock:
            frame, self._latest = self._latest, None
            ended = self._ended
        if frame is None and ended:
            if self._error:
                raise SourceError(self._error)
            raise StopIteration
        return frame

    def close(self) -> None:
        """Stop the reader thread, then release the device; never while it is being read
        (a reader blocked in a read longer than ``CLOSE_WAIT`` releases it when done)."""
        with self._lock:
            self._ended = True
            self._lock.notify()
        if self._thread is not None:
            self._thread.join(timeout=CLOSE_WAIT)
            if self._thread.is_alive():
                log.warning("%r is still opening or in a read; it is released when that "
                            "returns", self.source)
                return
        self._release()
