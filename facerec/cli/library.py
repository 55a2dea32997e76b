"""Commands over the photo library: scan photos in, then ask who is in which photo.

``scan`` runs the networks; ``find``, ``photos`` and ``who`` (for a scanned photo) answer
from the stored faces without loading them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from facerec.cli.database import add_db_option, db_path, print_matches
from facerec.cli.faces import add_pipeline_options, make_analyzer
from facerec.errors import FacerecError
from facerec.escaping import csv_writer, shown

if TYPE_CHECKING:
    from facerec.library import Library
    from facerec.results import LibraryPhoto, ScanReport


def register(commands: argparse._SubParsersAction) -> None:
    scan = commands.add_parser(
        "scan", help="scan photos into the library",
        description="Every face of every photo under PATH (recursively) is stored and "
                    "matched to the enrolled people. Unchanged files are not read again; "
                    "moved or renamed photos are recognised by their bytes.")
    scan.add_argument("inputs", nargs="+", type=Path, metavar="PATH")
    scan.add_argument("--keep-missing", action="store_true",
                      help="keep photos whose files are gone (a disconnected disk)")
    scan.add_argument("--upright", action="store_true",
                      help="look again, turned, at photos with no face or only weak ones "
                           "(scans and photos on their side)")
    scan.add_argument("--follow-links", action="store_true",
                      help="read links to photos outside the folders given too (by default "
                           "a scan reads only what is under them, and names such links)")
    scan.add_argument("--json", action="store_true", help="print the report as JSON")
    add_db_option(scan)
    add_pipeline_options(scan)
    scan.set_defaults(run=run_scan)

    find = commands.add_parser(
        "find", help="photos of these people, from the library",
        description="Photos of any of the people named (or, with --all, of all of them "
                    "together), with every face and who it is, newest first: by the date "
                    "each photo was taken (its EXIF date, shown after the path), else by "
                    "its file's modification time.")
    find.add_argument("names", nargs="+", metavar="NAME")
    together = find.add_mutually_exclusive_group()
    together.add_argument("--all", dest="together", action="store_const", const="all",
                          default="any", help="photos with every person named")
    together.add_argument("--any", dest="together", action="store_const", const="any",
                          help="photos with any person named (default)")
    _add_listing_options(find)
    find.set_defaults(run=run_find)

    photos = commands.add_parser(
        "photos", help="photos of the library, by who is in them",
        description="Photos with a face of nobody enrolled (or unsure), newest first: by "
                    "the date each photo was taken (its EXIF date, shown after the path), "
                    "else by its file's modification time.")
    photos.add_argument("--unknown", action="store_true", required=True,
                        help="photos with a face of nobody enrolled")
    _add_listing_options(photos)
    photos.set_defaults(run=run_photos)

    export = commands.add_parser(
        "export-xmp", help="write the people of the library's photos into XMP sidecars",
        description="For each photo of the people named (everyone enrolled when none is), "
                    "write PHOTO.xmp beside it naming every known face of the photo "
                    "(Metadata Working Group face regions, read by digiKam, Lightroom "
                    "Classic, darktable and exiftool). An existing sidecar is merged into; "
                    "sidecars written before are written again, so a person removed or "
                    "renamed is named no more; photos are never modified.")
    export.add_argument("names", nargs="*", metavar="NAME")
    export.add_argument("--json", action="store_true", help="print the report as JSON")
    export.add_argument("--threshold", type=float, default=None,
                        help="similarity a match must reach (default: the database's)")
    add_db_option(export)
    export.set_defaults(run=run_export_xmp)

    who = commands.add_parser(
        "who", help="who is in a photo (from the library when it was scanned)")
    who.add_argument("photo", type=Path, metavar="PHOTO")
    who.add_argument("--json", action="store_true", help="print JSON")
    who.add_argument("--threshold", type=float, default=None,
                     help="similarity a match must reach (default: the database's)")
    add_db_option(who)
    add_pipeline_options(who)
    who.set_defaults(run=run_who, csv=False, top_k=3, upright=False, fpir=None)


def _add_listing_options(parser: argparse.ArgumentParser) -> None:
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON object per photo")
    form.add_argument("--csv", action="store_true", help="one CSV row per face")
    parser.add_argument("--threshold", type=float, default=None,
                        help="similarity a match must reach (default: the database's)")
    add_db_option(parser)


def open_library(args: argparse.Namespace, create: bool) -> Library:
    """The library of ``--db``; with ``create``, the networks the options ask for."""
    from facerec.library import Library

    folder = db_path(args)
    if create:
        return Library.open(folder, make_analyzer(args, folder))
    return Library.open(folder, create=False)


def run_scan(args: argparse.Namespace) -> int:
    for path in args.inputs:
        if not path.exists():
            raise FacerecError(f"{path}: no such file or folder")
    with open_library(args, create=True) as library:
        report = library.scan(args.inputs, keep_missing=args.keep_missing,
                              upright=args.upright, follow_links=args.follow_links,
                              progress=sys.stderr.isatty())
        files, photos, faces = library.counts()
    print_scan_report(report, args.json)
    if not args.json:
        print(f"library: {files} files, {photos} photos, {faces} faces")
    if report.photos == 0:
        raise FacerecError(f"no photos found in {', '.join(map(str, args.inputs))}")
    return 1 if report.skipped else 0


def print_scan_report(report: ScanReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict()))
        return
    print(f"photos {report.photos}: analysed {report.analysed} (changed {report.changed}), "
          f"unchanged {report.unchanged}, moved {report.moved}, removed {report.removed}, "
          f"skipped {len(report.skipped)}; faces found {report.faces}")
    for skip in report.skipped:
        print(shown(f"  skipped {skip.path}: {skip.reason}"), file=sys.stderr)


def run_find(args: argparse.Namespace) -> int:
    with open_library(args, create=False) as library:
        photos = library.find(args.names, args.together, args.threshold)
    print_photos(photos, args)
    return 0


def run_photos(args: argparse.Namespace) -> int:
    with open_library(args, create=False) as library:
        photos = library.unknown(args.threshold)
    print_photos(photos, args)
    return 0


def run_export_xmp(args: argparse.Namespace) -> int:
    with open_library(args, create=False) as library:
        report = library.export_xmp(args.names, args.threshold)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(f"sidecars: {report.written} written, {report.merged} merged, "
              f"{report.unchanged} unchanged, {len(report.skipped)} skipped")
    for skip in report.skipped:
        print(shown(f"  skipped {skip.path}: {skip.reason}"), file=sys.stderr)
    return 1 if report.skipped else 0


def run_who(args: argparse.Namespace) -> int:
    from facerec.library import Library
    from facerec.results import Identification

    if not args.photo.is_file():
        raise FacerecError(f"{args.photo}: no such file")
    folder = db_path(args)
    if isinstance(folder, Path) and (folder / "library.sqlite").is_file():
        with Library.open(folder, create=False) as library:
            photo = library.who(args.photo, args.threshold)
            threshold = library.threshold(args.threshold)
            model = library.model or ""
        if photo is not None:
            print_matches(args.photo, Identification(photo.faces, threshold, model), args,
                          None)
            return 0
    print(shown(f"facerec: {args.photo} is not in the library as it is now; analysing it"),
          file=sys.stderr)
    from facerec.cli.database import run_identify

    args.inputs, args.annotate = [args.photo], None
    return run_identify(args)


def print_photos(photos: Sequence[LibraryPhoto], args: argparse.Namespace) -> None:
    if args.json:
        for photo in photos:
            print(json.dumps(photo.to_dict()))
        return
    if args.csv:
        writer = csv_writer(sys.stdout)
        writer.writerow(["path", "taken", "face", "x1", "y1", "x2", "y2", "person",
                         "similarity"])
        for photo in photos:
            for index, face in enumerate(photo.faces):
                writer.writerow([photo.path, photo.taken or "", index,
                                 *[f"{v:.1f}" for v in face.detection.box], face.person,
                                 f"{face.similarity:.4f}"])
        return
    for photo in photos:
        people = ", ".join(f"{face.person} {face.similarity:.2f}" if face.known
                           else "unknown" for face in photo.faces)
        taken = f"  ({photo.taken})" if photo.taken else ""
        print(shown(f"{photo.path}{taken}: {people}"))
    print(f"{len(photos)} photo{'s' if len(photos) != 1 else ''}", file=sys.stderr)
