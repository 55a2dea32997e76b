"""``facerec correct``: say that a face in a photo is, or is not, someone."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Literal

from facerec.cli.database import add_db_option, open_recognizer
from facerec.cli.faces import add_pipeline_options


def register(commands: argparse._SubParsersAction) -> None:
    correct = commands.add_parser(
        "correct", help="say who a face is, or is not (\"not this person\")",
        description="--not NAME keeps the face as not NAME: from then on faces more like it "
                    "than like NAME's own photos are not named NAME. --is NAME enrolls the "
                    "face for NAME. The face is the photo's main one unless --face N picks "
                    "another (identify's order, counting from 0).")
    correct.add_argument("photo", type=Path, metavar="PHOTO")
    said = correct.add_mutually_exclusive_group(required=True)
    said.add_argument("--not", dest="not_name", metavar="NAME",
                      help="the face is not this person")
    said.add_argument("--is", dest="is_name", metavar="NAME",
                      help="the face is this person: enroll it for them")
    correct.add_argument("--face", type=int, default=None, metavar="N",
                         help="which face of the photo (identify's order, from 0)")
    correct.add_argument("--json", action="store_true", help="print the answer as JSON")
    add_db_option(correct)
    add_pipeline_options(correct)
    correct.set_defaults(run=run_correct)


def run_correct(args: argparse.Namespace) -> int:
    from facerec.enrollment import source_key
    from facerec.escaping import shown
    from facerec.photos.image import read_image_file
    from facerec.photos.photo import decode_for_detection
    from facerec.recognition.corrections import correct

    data = read_image_file(args.photo)
    said: Literal["is", "not"] = "not" if args.not_name is not None else "is"
    person = args.not_name if said == "not" else args.is_name
    with open_recognizer(args, create=said == "is") as recognizer:
        photo = decode_for_detection(data, str(args.photo),
                                     recognizer.analyzer.detector.config.max_side)
        result = correct(recognizer, recognizer.analyzer.analyze(photo), photo.size,
                         sha256=hashlib.sha256(data).hexdigest(),
                         source=source_key(args.photo), label=str(args.photo),
                         face=args.face, person=person, said=said)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    what = f"face {result.face} of {shown(args.photo)}"
    if said == "not":
        print(f"kept: {what} is not {shown(person)}" if result.changed else
              f"already known: {what} is not {shown(person)}")
    else:
        print(f"enrolled: {what} as {shown(person)}" if result.changed else
              f"already known: {what} is {shown(person)}")
    for when, match in (("before", result.before), ("now", result.after)):
        shown_as = "unsure" if match.status == "unsure" else match.person
        print(f"  {when}: {shown(shown_as)} {match.similarity:.3f}"
              + (f" ({shown(match.reason)})" if match.reason else ""))
    return 0
