"""``facerec watch``: live recognition on cameras, video files or streams, in one process;
events as JSON lines and, with ``--mqtt``, over MQTT with Home Assistant discovery."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from facerec.cli.database import add_db_option, open_recognizer
from facerec.cli.faces import add_pipeline_options
from facerec.cli.outputs import prepare_report
from facerec.errors import FacerecError

if TYPE_CHECKING:
    from facerec.live.mqtt import MqttSettings
    from facerec.live.watch import Camera

NAMED_SOURCE = re.compile(r"([A-Za-z0-9_-]{1,64})=(.+)")


def register(commands: argparse._SubParsersAction) -> None:
    watch = commands.add_parser(
        "watch", help="name faces live from cameras, video files or streams",
        description="Shows a window with names on faces (q or Ctrl-C quits); with "
                    "--headless, writes an annotated video and JSON lines of events. "
                    "Several --source options run several cameras in one process, their "
                    "frames through one copy of the networks. With --mqtt, events and who "
                    "is in view go to an MQTT broker, with Home Assistant discovery.")
    watch.add_argument("--source", action="append", metavar="[NAME=]SOURCE",
                       help="camera index, video file, or stream URL (default: 0); "
                            "repeat for several cameras; NAME names the camera in events "
                            "and MQTT topics (default: from the source)")
    watch.add_argument("--headless", action="store_true", help="no window")
    watch.add_argument("--out", type=Path,
                       help="write the annotated video here (.mp4, .avi; one source only)")
    watch.add_argument("--events", type=Path,
                       help="write JSON-lines events here (default: stdout)")
    watch.add_argument("--unknown-after", type=float, default=5.0, metavar="SECONDS",
                       help="report an unknown face that stays this long (default: 5)")
    watch.add_argument("--max-frames", type=int, help="stop after this many frames a camera")
    mqtt = watch.add_argument_group(
        "MQTT and Home Assistant",
        "The login comes from the URL's user (mqtt://USER@HOST) or $FACEREC_MQTT_USERNAME, "
        "and the password from --mqtt-password-file or $FACEREC_MQTT_PASSWORD, never "
        "from the command line.")
    mqtt.add_argument("--mqtt", metavar="URL",
                      help="publish to this broker: mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    mqtt.add_argument("--mqtt-password-file", type=Path, metavar="FILE",
                      help="file holding the broker's password")
    mqtt.add_argument("--mqtt-ca", type=Path, metavar="FILE",
                      help="certificate authority of an mqtts:// broker (default: the "
                           "system's)")
    mqtt.add_argument("--mqtt-prefix", default="facerec",
                      help="first level of facerec's topics (default: facerec)")
    mqtt.add_argument("--discovery-prefix", default="homeassistant",
                      help="Home Assistant's MQTT discovery prefix (default: homeassistant)")
    mqtt.add_argument("--no-discovery", action="store_true",
                      help="publish no Home Assistant discovery configs")
    mqtt.add_argument("--mqtt-snapshots", action="store_true",
                      help="publish a JPEG of each face named or lingering unknown "
                           "(retained, PREFIX/CAMERA/snapshot)")
    add_db_option(watch)
    add_pipeline_options(watch)
    watch.set_defaults(run=run_watch)


def camera_names(sources: list[str]) -> list[tuple[str, str]]:
    """(name, source) for each ``[NAME=]SOURCE``; unnamed ones are named after their
    file, host or camera index, made unique with ``_2``, ``_3``...

    Raises:
        FacerecError: two sources were given the same name.
    """
    parsed = []
    for text in sources:
        given = NAMED_SOURCE.fullmatch(text)
        parsed.append((given.group(1), given.group(2)) if given else (None, text))
    chosen = [name for name, _ in parsed if name is not None]
    twice = sorted({name for name in chosen if chosen.count(name) > 1})
    if twice:
        raise FacerecError(f"two cameras are named {twice[0]!r}; give each its own NAME=")
    used, named = set(chosen), []
    for name, source in parsed:
        if name is None:
            base = name = _name_of(source)
            count = 1
            while name in used:
                count += 1
                name = f"{base}_{count}"
            used.add(name)
        named.append((name, source))
    return named


def _name_of(source: str) -> str:
    if source.isdigit():
        return f"camera{source}"
    if "://" in source:
        stem = urlsplit(source).hostname or ""
    else:
        stem = Path(source).stem
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:64] or "camera"


def mqtt_settings(args: argparse.Namespace) -> MqttSettings:
    """The broker settings of the command's options and environment."""
    from facerec.live.mqtt import PASSWORD_ENV, USERNAME_ENV, MqttSettings

    password = os.environ.get(PASSWORD_ENV) or None
    if args.mqtt_password_file is not None:
        try:
            password = args.mqtt_password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise FacerecError(f"{args.mqtt_password_file}: cannot read the MQTT password: "
                               f"{exc.strerror}") from None
    return MqttSettings.from_url(
        args.mqtt, username=os.environ.get(USERNAME_ENV) or None, password=password,
        prefix=args.mqtt_prefix,
        discovery_prefix=None if args.no_discovery else args.discovery_prefix,
        snapshots=args.mqtt_snapshots, ca_file=args.mqtt_ca)


def run_watch(args: argparse.Namespace) -> int:
    from facerec.live.capture import FrameSource, parse_source
    from facerec.live.watch import Camera, Sinks, Watcher, json_lines, run_cameras

    stop_on_sigterm()

    sources = camera_names(args.source or ["0"])
    if args.out:
        if len(sources) > 1:
            raise FacerecError("--out writes one camera's video; give one --source")
        prepare_report(args.out, (".mp4", ".avi"))
    if args.events:
        prepare_report(args.events)
    settings = mqtt_settings(args) if args.mqtt else None
    with ExitStack() as stack:
        recognizer = stack.enter_context(open_recognizer(args, create=False))
        if not recognizer.gallery.has_people():
            raise FacerecError(f"the database at {recognizer.address} has no one enrolled")
        recognizer.gallery.follow_changes()  # who is enrolled or removed anywhere
        link = None
        if settings is not None:
            from facerec.live.mqtt import MqttLink

            link = MqttLink(settings, lambda: [n for n, _ in recognizer.gallery.people()])
            link.start()
            stack.callback(link.close)
        events = (stack.enter_context(open(args.events, "w", encoding="utf-8"))
                  if args.events else sys.stdout)
        lines = json_lines(events)
        ready = threading.Event()
        cameras = []
        for name, source in sources:
            frames = FrameSource(parse_source(source), ready=ready)
            stack.callback(frames.close)
            sink = lines if link is None else Sinks(lines, link.camera(name))
            camera_name = name if len(sources) > 1 or link is not None else None
            watcher = Watcher(recognizer, sink, args.unknown_after, camera=camera_name)
            cameras.append(Camera(name, frames, watcher))
        run_cameras(cameras, ready, show=not args.headless, out=args.out,
                    max_frames=args.max_frames)
    return _report(cameras, link.dropped if link is not None else 0)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what systemd and docker send to stop a service), taken as Ctrl-C is:
    the cameras stop, the video is finished, MQTT says offline."""


def stop_on_sigterm() -> None:
    """Stop this process's long command on SIGTERM the way Ctrl-C stops it."""
    def stop(signum: int, frame: object) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, stop)


def _report(cameras: list[Camera], dropped_messages: int) -> int:
    """One line per camera on stderr; 1 when a camera lost frames or stopped early."""
    status = 0
    for camera in cameras:
        stats = camera.watcher.stats
        who = f"{camera.name}: " if len(cameras) > 1 else ""
        delay = max(stats.naming_delays) * 1000 if stats.naming_delays else float("nan")
        print(f"facerec: {who}{stats.frames} frames in {stats.seconds:.1f} s "
              f"({stats.fps:.1f} fps), {stats.dropped} dropped, slowest naming {delay:.0f} ms",
              file=sys.stderr)
        if stats.undecodable:
            print(f"facerec: {stats.undecodable} frames of {camera.source.source} could not "
                  "be decoded (the file is damaged); they were passed over", file=sys.stderr)
            status = 1
        if camera.error:
            print(f"facerec: {who}{camera.error}", file=sys.stderr)
            status = 1 if len(cameras) > 1 else 2
    if dropped_messages:
        print(f"facerec: {dropped_messages} MQTT messages were dropped while the broker was "
              "away", file=sys.stderr)
    return status
