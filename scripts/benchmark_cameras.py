"""Several cameras: one ``facerec watch`` process for all against one process per camera,
and the delay from a frame to its event on an MQTT broker.

Builds a clip of 640x480 frames from real photos (one enrolled person all along, two
strangers who come and go), then for 1, 2 and 4 cameras (each reading its own copy of
the clip, as fast as it is processed):

* one process: ``facerec watch --source ... --source ...``, their frames through one copy
  of the networks, in batches;
* separate processes: one ``facerec watch --source ...`` per camera, started together,
  with PyTorch's default threads and with one thread each (``OMP_NUM_THREADS=1``);

and prints frames per second per camera (frames over the loop's wall time; unknown faces
reported after 1 s, so that there are events to time) and the processes' peak resident
memory together. With
mosquitto installed, the one-process runs also publish over MQTT to a broker on
loopback, and a subscriber in this process times each event from the moment its frame
was taken from the source to the moment the message arrived.

    python scripts/benchmark_cameras.py [--faces ../shared/faces] [--seconds 6] [--rounds 3]
"""

from __future__ import annotations

from facerec.levers import enable_levers

enable_levers()  # timed as the commands run: before torch is imported

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from broker import MOSQUITTO, Subscriber, running_broker  # noqa: E402
from video import comings_and_goings  # noqa: E402

from facerec import FaceAnalyzer, Recognizer  # noqa: E402
from facerec.live.capture import FrameSource  # noqa: E402
from facerec.live.mqtt import MqttLink, MqttSettings  # noqa: E402
from facerec.live.watch import Camera, JsonLines, Sinks, Watcher, run_cameras  # noqa: E402

FPS = 25
COUNTS = (1, 2, 4)
FACEREC = Path(sys.executable).parent / "facerec"


class TimedSource(FrameSource):
    """A video file that notes when each frame was handed to the loop."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.taken: dict[int, float] = {}

    def __iter__(self):
        for frame in super().__iter__():
            self.taken[frame.index] = time.perf_counter()
            yield frame


def one_process(db: Path, video: Path, count: int, broker_url: str | None,
                port: int | None) -> tuple[list[float], list[float]]:
    """fps of each camera, and the frame-to-message delays (s) of every event."""
    with Recognizer.open(db) as recognizer, open(os.devnull, "w") as devnull:
        link = None
        if broker_url is not None:
            link = MqttLink(MqttSettings.from_url(broker_url, discovery_prefix=None),
                            lambda: [n for n, _ in recognizer.gallery.people()])
            link.start()
        cameras = []
        for i in range(count):
            name = f"cam{i}"
            sink = Sinks(JsonLines(devnull), *([link.camera(name)] if link else []))
            cameras.append(Camera(name, TimedSource(video),
                                  Watcher(recognizer, sink, unknown_after=1.0,
                                          camera=name)))
        blank = np.zeros((480, 640, 3), np.uint8)
        recognizer.analyzer.analyze_batch([blank] * count)  # warm up for this batch size
        subscriber = Subscriber(port, ("facerec/+/events",)) if port else None
        if subscriber:
            subscriber.__enter__()
        run_cameras(cameras, threading.Event())
        delays = []
        if subscriber and link:
            time.sleep(1.0)
            subscriber.__exit__()
            by_name = {c.name: c for c in cameras}
            for message in subscriber.messages:
                event = json.loads(message.payload)
                if event["event"] == "track_ended":
                    continue  # the end of the clip ends tracks without a frame
                source = by_name[event["camera"]].source
                taken = source.taken.get(round(event["time"] * FPS))
                if taken is not None:
                    delays.append(message.at - taken)
            link.close()
        return [c.watcher.stats.fps for c in cameras], delays


def watch_processes(db: Path, video: Path, processes: int, cameras: int,
                    threads: int | None = None) -> tuple[list[float], float]:
    """fps of each camera and the processes' peak resident memory together (MiB), for
    ``processes`` ``facerec watch`` processes started together with ``cameras`` sources
    each (``threads`` OpenMP threads each, or PyTorch's default)."""
    command = [str(FACEREC), "watch", "--headless", "--db", str(db), "--events", os.devnull,
               "--unknown-after", "1"]
    for index in range(cameras):
        command += ["--source", f"cam{index}={video}"]
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    started = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(processes)]
    rates, memory = [], 0.0
    for process in started:
        _, status, usage = os.wait4(process.pid, 0)
        err = process.stderr.read()
        process.stderr.close()
        process.returncode = os.waitstatus_to_exitcode(status)
        found = re.findall(r"\(([\d.]+) fps\)", err)
        if process.returncode != 0 or len(found) != cameras:
            raise RuntimeError(f"facerec watch failed: {err}")
        rates += [float(rate) for rate in found]
        memory += usage.ru_maxrss / 1024
    return rates, memory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    analyzer = FaceAnalyzer(download=True)
    gallery = args.faces / "gallery"
    frames = args.seconds * FPS
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        video = comings_and_goings(analyzer, args.faces, root / "clip.avi", frames, FPS)
        with Recognizer.open(root / "db", analyzer, create=True) as recognizer:
            recognizer.enroll(name="obama", paths=[gallery / "obama"])
        print(f"{frames} frames of 640x480 with 1-3 faces a camera, on {analyzer.device}, "
              f"{os.cpu_count()} cores; median of {args.rounds} rounds, the configurations "
              "taking turns; frames per second per camera (all cameras)")
        fps: dict[tuple[int, str], list[list[float]]] = {}
        memory: dict[tuple[int, str], list[float]] = {}
        delays: dict[int, list[float]] = {count: [] for count in COUNTS}
        for round_number in range(args.rounds):
            for count in COUNTS:
                runs = {"one": (1, count, None), "apart": (count, 1, None),
                        "single": (count, 1, 1)}
                for kind, (processes, cameras, threads) in runs.items():
                    rates, peak = watch_processes(root / "db", video, processes, cameras,
                                                  threads)
                    fps.setdefault((count, kind), []).append(rates)
                    memory.setdefault((count, kind), []).append(peak)
                if MOSQUITTO is not None:
                    folder = root / f"broker{count}-{round_number}"
                    folder.mkdir()
                    with running_broker(folder) as broker:
                        published, found = one_process(root / "db", video, count,
                                                       broker.url, broker.port)
                    fps.setdefault((count, "mqtt"), []).append(published)
                    delays[count] += found
        print("cameras | one process | separate processes | separate, 1 thread each | "
              "one process with MQTT: fps, frame to message (median, max)")
        for count in COUNTS:
            line = f"{count} | "
            for kind in ("one", "apart", "single", "mqtt"):
                if (count, kind) in fps:
                    runs = fps[(count, kind)]
                    per_camera = statistics.median(statistics.mean(r) for r in runs)
                    total = statistics.median(sum(r) for r in runs)
                    line += f"{per_camera:.1f} ({total:.1f})"
                    if (count, kind) in memory:
                        line += f", {statistics.median(memory[(count, kind)]):,.0f} MiB"
                    line += " | "
            if delays[count]:
                ms = sorted(d * 1000 for d in delays[count])
                line += (f"{statistics.median(ms):.0f} ms, {ms[-1]:.0f} ms "
                         f"({len(ms)} events)")
            elif MOSQUITTO is None:
                line += "(mosquitto is not installed)"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
