"""``facerec explain PHOTO``: what the networks see, as pictures."""

from __future__ import annotations

import argparse
from pathlib import Path

from facerec.cli.faces import add_pipeline_options, make_analyzer


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "explain", help="pictures of what the networks see in a photo, layer by layer",
        description="For the photo's main face: the detected faces, where the detector "
                    "fires (score map), the aligned face, and for each stage of the "
                    "embedder its strongest feature maps. Writes PNGs; explain.png is the "
                    "overview.")
    parser.add_argument("photo", type=Path, metavar="PHOTO")
    parser.add_argument("--out", type=Path, required=True, help="folder for the pictures")
    add_pipeline_options(parser)
    parser.set_defaults(run=run_explain)


def run_explain(args: argparse.Namespace) -> int:
    from facerec.explain.explanation import explain
    from facerec.explain.pictures import write_pictures

    explained = explain(make_analyzer(args), args.photo)
    written = write_pictures(explained, args.out)
    print(f"{len(explained.faces)} faces; explained the main one "
          f"(score {explained.face.detection.score:.2f}) through "
          f"{len(explained.stages)} stages")
    for path in written:
        print(f"  {path}")
    return 0
