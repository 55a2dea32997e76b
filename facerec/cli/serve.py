"""``facerec serve``: the matching service over HTTP."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from facerec.cli.database import add_db_option
from facerec.cli.faces import add_pipeline_options, make_analyzer
from facerec.errors import FacerecError

API_KEY_ENV = "FACEREC_API_KEY"


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="answer identify/verify/enroll requests over HTTP",
        description="Runs the HTTP API (docs at /docs). Beyond 127.0.0.1 an API key is "
                    f"required: put it in ${API_KEY_ENV} or a file given to --api-key-file.")
    add_db_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--allowed-host", action="append", default=[], metavar="NAME[:PORT]",
                       help="a host name the server answers besides localhost, 127.0.0.1, "
                            "[::1] and --host (e.g. the name a reverse proxy uses); other "
                            "Host headers get 421, against DNS rebinding. Repeatable")
    serve.add_argument("--api-key-file", type=Path,
                       help=f"file holding the API key (default: ${API_KEY_ENV})")
    serve.add_argument("--max-upload-mb", type=float, default=20.0,
                       help="largest request body accepted (default: 20)")
    serve.add_argument("--max-batch", type=int, default=16, help="most images per batch")
    serve.add_argument("--max-wait-ms", type=float, default=2.0,
                       help="how long a batch waits for more requests (default: 2)")
    serve.add_argument("--max-queue", type=int, default=64,
                       help="images waiting beyond this get 503 (default: 64)")
    serve.add_argument("--max-connections", type=int, default=200,
                       help="open connections beyond this are closed (default: 200)")
    serve.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="time a client has to send a request's headers (default: 10)")
    serve.add_argument("--body-timeout", type=float, default=60.0, metavar="SECONDS",
                       help="time a client has to send a request's body (default: 60)")
    serve.add_argument("--max-pixels-in-flight", type=float, default=120.0, metavar="MP",
                       help="megapixels of decoded images held at once across requests "
                            "(default: 120)")
    serve.add_argument("--no-deepstack-api", action="store_true",
                       help="do not answer DeepStack's face API at /v1/vision/face (on by "
                            "default, for NVRs and Home Assistant; same key and limits)")
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    add_pipeline_options(serve)
    serve.set_defaults(run=run_serve)


def read_api_key(path: Path | None) -> str | None:
    """The key from ``path`` if given, else from $FACEREC_API_KEY; None when neither."""
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise FacerecError(f"{path}: cannot read the API key: {exc.strerror}") from None
    return os.environ.get(API_KEY_ENV) or None


def run_serve(args: argparse.Namespace) -> int:
    from facerec.server import ServerConfig, serve
    from facerec.storage import default_db_path

    config = ServerConfig(
        db=args.db or default_db_path(), host=args.host, port=args.port,
        api_key=read_api_key(args.api_key_file),
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), max_batch=args.max_batch,
        max_wait=args.max_wait_ms / 1000, max_queue=args.max_queue,
        max_connections=args.max_connections, allowed_hosts=tuple(args.allowed_host),
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout, deepstack_api=not args.no_deepstack_api,
        max_pixels_in_flight=int(args.max_pixels_in_flight * 1_000_000))
    config.check()  # before the networks load
    serve(config, make_analyzer(args, config.db), access_log=not args.no_access_log)
    return 0
