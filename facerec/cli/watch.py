"""``facerec watch``: live recognition on a camera, a video file or a stream."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import FacerecError
from .database import add_db_option, open_recognizer
from .faces import add_pipeline_options
from .outputs import prepare_report


def register(commands: argparse._SubParsersAction) -> None:
    watch = commands.add_parser(
        "watch", help="name faces live from a camera, video file or stream",
        description="Shows a window with names on faces (q or Ctrl-C quits); with "
                    "--headless, writes an annotated video and JSON lines of events.")
    watch.add_argument("--source", default="0",
                       help="camera index, video file, or stream URL (default: 0)")
    watch.add_argument("--headless", action="store_true", help="no window")
    watch.add_argument("--out", type=Path, help="write the annotated video here (.mp4, .avi)")
    watch.add_argument("--events", type=Path,
                       help="write JSON-lines events here (default: stdout)")
    watch.add_argument("--unknown-after", type=float, default=5.0, metavar="SECONDS",
                       help="report an unknown face that stays this long (default: 5)")
    watch.add_argument("--max-frames", type=int, help="stop after this many frames")
    add_db_option(watch)
    add_pipeline_options(watch)
    watch.set_defaults(run=run_watch)


def run_watch(args: argparse.Namespace) -> int:
    from ..live.capture import FrameSource, parse_source
    from ..live.watch import Watcher, json_lines, run

    if args.out:
        prepare_report(args.out, (".mp4", ".avi"))
    if args.events:
        prepare_report(args.events)
    with open_recognizer(args, create=False) as recognizer:
        if not recognizer.gallery.has_people():
            raise FacerecError(f"the database at {recognizer.path} has no one enrolled")
        source = FrameSource(parse_source(args.source))
        events = open(args.events, "w", encoding="utf-8") if args.events else sys.stdout
        try:
            watcher = Watcher(recognizer, json_lines(events), args.unknown_after)
            stats = run(source, watcher, show=not args.headless, out=args.out,
                        max_frames=args.max_frames)
        finally:
            if args.events:
                events.close()
    delay = max(stats.naming_delays) * 1000 if stats.naming_delays else float("nan")
    print(f"facerec: {stats.frames} frames in {stats.seconds:.1f} s ({stats.fps:.1f} fps), "
          f"{stats.dropped} dropped, slowest naming {delay:.0f} ms", file=sys.stderr)
    if stats.undecodable:
        print(f"facerec: {stats.undecodable} frames of {args.source} could not be decoded "
              "(the file is damaged); they were passed over", file=sys.stderr)
        return 1
    return 0
