"""``facerec import-encodings``: bring ``face_recognition`` encodings into a face database."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from facerec.cli.database import add_db_option, db_path
from facerec.escaping import shown


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import-encodings", help="import face_recognition encodings with their names",
        description="Stores 128-value face_recognition (dlib) encodings in a database of "
                    "the dlib-resnet-v1 model, which computes the same descriptors from "
                    "photos. Formats: .npz (arrays 'encodings' and 'names'), .npy with "
                    "--names, .csv (name, then 128 numbers), .json. Pickles are refused: "
                    "opening one can run code.")
    parser.add_argument("file", type=Path, metavar="FILE", help="the encodings")
    parser.add_argument("--names", type=Path, default=None,
                        help="for .npy: a text file with one name per row of the array")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="keep face_recognition's tolerance (e.g. 0.6) as the "
                             "database's threshold, converted to a similarity")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_db_option(parser)
    parser.set_defaults(run=run_import_encodings)


def run_import_encodings(args: argparse.Namespace) -> int:
    from facerec.enrollment.from_encodings import FACE_RECOGNITION_TOLERANCE, import_encodings
    from facerec.formats.encodings_file import read_encodings
    from facerec.models.registry import DLIB_RESNET
    from facerec.storage.gallery import Gallery

    if args.tolerance is not None and not 0 < args.tolerance < 2:
        print("facerec: error: --tolerance is a distance between 0 and 2 (0.6 in "
              "face_recognition)", file=sys.stderr)
        return 2
    encodings = read_encodings(args.file, args.names)
    with Gallery(db_path(args)) as gallery:
        report = import_encodings(gallery, encodings, args.file, args.tolerance)
    for skip in report.skipped:
        print(shown(f"  skipped {skip.path}: {skip.reason}"), file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(f"imported {report.imported} faces of {len(report.people)} people into "
              f"{db_path(args)} ({DLIB_RESNET.name}); {len(report.skipped)} skipped")
        if report.imported:
            print(f"face_recognition's tolerance {FACE_RECOGNITION_TOLERANCE} is a "
                  f"similarity of {report.similarity_at_default_tolerance:.3f} for these "
                  f"encodings (median length {report.median_norm:.3f}); the model's default "
                  f"threshold is {DLIB_RESNET.threshold:.3f}")
        if report.threshold is not None:
            print(f"the database's threshold is now {report.threshold:.3f} "
                  f"(tolerance {args.tolerance})")
    if not report.imported:
        return 2
    return 1 if report.skipped else 0
