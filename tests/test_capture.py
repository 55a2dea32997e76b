"""Frame sources: a file read in full, and a live stream over loopback HTTP that drops."""

from __future__ import annotations

import functools
import http.server
import threading
import time

import numpy as np
import pytest
from video import write_video

from facerec.live import capture
from facerec.live.capture import FrameSource, SourceError, parse_source


@pytest.fixture
def clip(tmp_path):
    y, x = np.mgrid[0:120, 0:160]
    patch = np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8)
    return write_video(tmp_path / "clip.avi", [(patch, 0, 59)], frames=60)


def test_files_are_read_frame_by_frame(clip):
    source = FrameSource(str(clip))
    frames = list(source)
    source.close()
    assert [f.index for f in frames] == list(range(60))
    assert frames[0].image.shape == (480, 640, 3) and source.dropped == 0
    assert frames[15].time == pytest.approx(1.0)


@pytest.fixture
def stream_url(clip):
    """The clip served over loopback HTTP, as a network stream."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=clip.parent)
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/{clip.name}"
    server.shutdown()


def test_a_slow_reader_of_a_live_stream_drops_frames(stream_url):
    source = FrameSource(stream_url, reconnects=0)
    assert source.live
    consumed = 0
    with pytest.raises(SourceError, match="stopped delivering frames"):
        for _ in source:
            consumed += 1
            time.sleep(0.05)
    source.close()
    assert source.dropped > 0 and consumed + source.dropped == 60


class SlowCapture:
    """A real capture whose reads take ``delay`` seconds; it notes a release that comes
    while a read is under way (OpenCV captures are not safe across threads)."""

    def __init__(self, capture, delay: float) -> None:
        self.capture, self.delay = capture, delay
        self.reading = False
        self.released = False
        self.released_mid_read = False

    def get(self, prop: int) -> float:
        return self.capture.get(prop)

    def read(self):
        self.reading = True
        try:
            time.sleep(self.delay)
            return self.capture.read()
        finally:
            self.reading = False

    def release(self) -> None:
        self.released_mid_read |= self.reading
        self.released = True
        self.capture.release()


class SlowSource(FrameSource):
    def _open(self) -> SlowCapture:
        return SlowCapture(super()._open(), delay=capture.CLOSE_WAIT + 1.0)


def test_closing_a_stream_never_releases_it_under_a_read(stream_url):
    source = SlowSource(stream_url, reconnects=0)
    deadline = time.monotonic() + 10
    while source._capture is None and time.monotonic() < deadline:
        time.sleep(0.02)  # a live source opens in its reader thread
    slow = source._capture
    assert slow is not None
    time.sleep(0.3)
    source.close()  # the reader is in a read that outlasts close()'s wait
    assert not slow.released_mid_read
    source._thread.join(timeout=10)
    assert slow.released and not slow.released_mid_read  # the reader let it go when done
    assert not source._thread.is_alive()


def test_parse_source():
    assert parse_source("0") == 0 and parse_source("clip.mp4") == "clip.mp4"
