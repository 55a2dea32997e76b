"""The ``facerec`` command line. The library raises; this layer explains.

Exit codes: 0 success; 1 the command ran but some inputs failed (each named on stderr)
or, for ``verify``, the faces are of different people; 2 the command could not run
(bad arguments, missing models, unreadable database); 130 interrupted; 143 stopped by
SIGTERM (``watch``, cleanly, as by Ctrl-C).

May import: every other folder.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from facerec.cli import (
    batch,
    cluster,
    correct,
    database,
    evaluate,
    explain,
    faces,
    imports,
    library,
    models,
    serve,
    watch,
)
from facerec.cli.outputs import write_failure
from facerec.errors import FacerecError
from facerec.escaping import shown
from facerec.levers import enable_levers
from facerec.levers.allocator import keep_freed_blocks_after_the_first_detection

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143

COMMAND_GROUPS = (models, faces, database, correct, library, imports, evaluate, explain,
                  cluster, batch, watch, serve)


class EscapingFormatter(logging.Formatter):
    """Log lines with file and person names escaped (see ``escaping.shown``)."""

    def format(self, record: logging.LogRecord) -> str:
        return shown(super().format(record))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facerec",
                                     description="Face detection and recognition.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("-q", "--quiet", action="store_true", help="log only errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter("facerec: %(message)s"))
    package_log = logging.getLogger("facerec")
    package_log.addHandler(handler)
    package_log.setLevel(level)
    try:
        return _run(args)
    finally:  # a program that calls main() again gets one handler, not one per call
        package_log.removeHandler(handler)


def _run(args: argparse.Namespace) -> int:
    """The command ``args`` names, its errors said on stderr; the exit code."""
    enable_levers()
    if args.command != "serve":  # the service gives memory back instead (facerec.levers.allocator)
        keep_freed_blocks_after_the_first_detection()
    try:
        return int(args.run(args))
    except FacerecError as exc:
        print(shown(f"facerec: error: {exc}"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        if isinstance(exc, watch.Terminated):
            print("facerec: stopped (SIGTERM)", file=sys.stderr)
            return EXIT_TERMINATED
        print("facerec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # e.g. results written to a full disk or a dead device
        where = f"{exc.filename}: " if exc.filename else ""
        print(shown(f"facerec: error: {where}{write_failure(exc)}"), file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
