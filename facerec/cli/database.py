"""Commands over a face database: enroll, identify, calibrate (through a ``Recognizer``),
and people, remove, rename, merge (through a ``Gallery`` alone, so they load no network)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from facerec.cli.decision import DEFAULT_FPIR_HELP, add_decision_options, share
from facerec.cli.faces import add_pipeline_options, expand_or_report, make_analyzer, report_failure
from facerec.cli.locations import database_location
from facerec.cli.outputs import prepare_folder, prepare_report, writing
from facerec.errors import FacerecError, ImageError
from facerec.escaping import SafeCsvWriter, csv_writer, shown
from facerec.open_set import DEFAULT_FPIR

if TYPE_CHECKING:
    from facerec.recognition.recognizer import Recognizer
    from facerec.results import EnrollReport, Identification
    from facerec.storage.gallery import Gallery


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=database_location, default=None,
                        help="database folder, or postgresql://USER@HOST[:PORT]/NAME with "
                             "the password in $PGPASSWORD or ~/.pgpass (default: "
                             "$FACEREC_DB or ./facerec-db)")


def db_path(args: argparse.Namespace) -> Path | str:
    """The database ``--db`` (else ``$FACEREC_DB``, else ``./facerec-db``) names."""
    from facerec.storage.gallery import default_db_path

    return args.db or default_db_path()


def db_folder(args: argparse.Namespace, command: str, instead: str) -> Path:
    """The database folder of ``--db``, for a ``command`` that works on its files; a
    PostgreSQL database is refused, saying what to do ``instead``."""
    location = db_path(args)
    if isinstance(location, str):
        raise FacerecError(f"{command} works on a database folder, and {location} is a "
                           f"PostgreSQL database ({instead})")
    return location


def open_recognizer(args: argparse.Namespace, create: bool) -> Recognizer:
    """The database of ``--db`` with the networks the command's options ask for."""
    from facerec.recognition.recognizer import Recognizer

    folder = db_path(args)
    return Recognizer.open(folder, make_analyzer(args, folder), create=create)


def open_gallery(args: argparse.Namespace) -> Gallery:
    """The existing database of ``--db``, without networks."""
    from facerec.storage.gallery import Gallery

    return Gallery(db_path(args), create=False)


def register(commands: argparse._SubParsersAction) -> None:
    enroll = commands.add_parser(
        "enroll", help="add known people from a folder",
        description="DIR/<person>/*.jpg (name = folder) and DIR/<person>.jpg (name = stem); "
                    "with --name, every photo given is that person.")
    enroll.add_argument("inputs", nargs="+", type=Path, metavar="PATH")
    enroll.add_argument("--name", help="enroll all given photos/folders as this person")
    enroll.add_argument("--strict", action="store_true",
                        help="skip photos with several faces instead of using the main one")
    enroll.add_argument("--sync", action="store_true",
                        help="remove faces whose files under DIR are gone")
    enroll.add_argument("--keep-poor", action="store_true",
                        help="enroll faces too small or turned too far to recognise others "
                             "from (skipped by default, with the reason)")
    enroll.add_argument("--move", action="store_true",
                        help="take photos already enrolled for another person (otherwise "
                             "they are refused, naming their owner)")
    enroll.add_argument("--report", type=Path, help="write the skipped photos (.csv or .json)")
    add_db_option(enroll)
    add_pipeline_options(enroll)
    enroll.set_defaults(run=run_enroll)

    identify = commands.add_parser("identify", help="name every face in photos")
    identify.add_argument("inputs", nargs="+", metavar="PATH", help="photos, folders or globs")
    output = identify.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="JSON lines, one per photo")
    output.add_argument("--csv", action="store_true", help="CSV, one row per face")
    identify.add_argument("--top-k", type=int, default=3, help="candidates per face")
    identify.add_argument("--upright", action="store_true",
                          help="look again at photos with no face (or only weak ones) turned "
                               "by 90, 180 and 270 degrees: scans, photos whose rotation "
                               "was lost (costs three more detections on those photos)")
    add_decision_options(identify)
    identify.add_argument("--annotate", type=Path, metavar="OUT",
                          help="write copies of the photos with boxes and names to OUT")
    add_db_option(identify)
    add_pipeline_options(identify)
    identify.set_defaults(run=run_identify)

    people = commands.add_parser("people", help="list people and their face counts")
    people.add_argument("--json", action="store_true")
    add_db_option(people)
    people.set_defaults(run=run_people)

    remove = commands.add_parser(
        "remove", help="delete a person and their faces, erased everywhere",
        description="Deletes a person and their faces, and erases them before returning "
                    "from every copy the database folder keeps: the SQLite rows "
                    "(overwritten, not just freed) and its write-ahead log (emptied), the "
                    "index file (rewritten, or dropped to be rebuilt), their face crops "
                    "(thumbnails/), the skip memory of their photos, reindex backups "
                    "(faces.sqlite.*.bak), the photo library's copies of their enrolled "
                    "faces (its other photos of them stay, their faces of nobody) and "
                    "the XMP sidecars export-xmp wrote (written again without them); a file "
                    "that cannot be changed is named with "
                    "what to do. A running server forgets its own copies when told over "
                    "HTTP (DELETE /v1/people/NAME). Out of reach: blocks a file system or "
                    "disk keeps after a file is rewritten (use full-disk encryption).")
    remove.add_argument("name")
    add_db_option(remove)
    remove.set_defaults(run=run_remove)

    rename = commands.add_parser("rename", help="rename a person")
    rename.add_argument("old")
    rename.add_argument("new")
    add_db_option(rename)
    rename.set_defaults(run=run_rename)

    merge = commands.add_parser("merge", help="move every face of A to B, then delete A")
    merge.add_argument("source", metavar="A")
    merge.add_argument("target", metavar="B")
    add_db_option(merge)
    merge.set_defaults(run=run_merge)

    check = commands.add_parser(
        "check", help="look for damage in a database and whether its index agrees",
        description="Reads every page of the SQLite file (SQLite's quick_check); exit 0 "
                    "when sound, 2 when damaged (then see `facerec repair`).")
    add_db_option(check)
    check.set_defaults(run=run_check)

    repair = commands.add_parser(
        "repair", help="save what is readable of a damaged database into a new one",
        description="Copies every readable face, person and setting into a new database "
                    "folder; the damaged one is left as it is. With --library: a damaged "
                    "photo library is set aside (library.sqlite.damaged), and the next "
                    "`facerec scan` builds it again from the photos.")
    add_db_option(repair)
    target = repair.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="the new database folder")
    target.add_argument("--library", action="store_true",
                        help="set the damaged photo library aside to be scanned again")
    repair.set_defaults(run=run_repair)

    migrate = commands.add_parser(
        "migrate", help="copy a database between a folder and PostgreSQL",
        description="Copies every person, face, skipped photo, rejected face and setting "
                    "of --from into the empty database --to (each a folder or "
                    "postgresql://USER@HOST[:PORT]/NAME, either way) in one transaction, "
                    "and checks the copy face for face. The original is left as it is; a "
                    "photo library stays in its folder.")
    migrate.add_argument("--from", dest="source", type=database_location, required=True,
                         metavar="DB")
    migrate.add_argument("--to", dest="target", type=database_location, required=True,
                         metavar="DB")
    migrate.set_defaults(run=run_migrate)

    reindex = commands.add_parser(
        "reindex", help="move a database to another embedding model",
        description="Embeds every face again from its photo with the model of --embedder, "
                    "in a new file beside the database, and switches to it only when every "
                    "face was embedded (or --drop-missing). The old file is kept as "
                    "faces.sqlite.<model>.bak. Stop servers using the database first.")
    add_db_option(reindex)
    reindex.add_argument("--drop-missing", action="store_true",
                         help="switch even if some photos are gone or changed, leaving "
                              "their faces out")
    add_pipeline_options(reindex)
    reindex.set_defaults(run=run_reindex)

    calibrate = commands.add_parser(
        "calibrate", help="set how many strangers may be given a name",
        description="By default: the open-set rule for --fpir (the share of strangers that "
                    "may be given a name), from the model's impostor table, raised where "
                    "this database's own people look more alike than the table says; the "
                    "threshold then follows the people enrolled. --set fixes a threshold "
                    "by hand; --far measures a pair threshold on the enrolled faces, kept "
                    "as a floor.")
    mode = calibrate.add_mutually_exclusive_group()
    mode.add_argument("--fpir", type=share, default=None, metavar="RATE",
                      help=f"share of strangers that may be given a name (default: "
                           f"{DEFAULT_FPIR_HELP})")
    mode.add_argument("--far", type=float, default=None,
                      help="measure a pair threshold for this false-accept rate on the "
                           "enrolled faces instead (a floor for the open-set threshold)")
    calibrate.add_argument("--force", action="store_true",
                           help="with --far: store the threshold even when too few pairs "
                                "back it")
    mode.add_argument("--set", type=float, default=None, metavar="T",
                      help="fix threshold T by hand: identify names at T whatever the "
                           "number of people enrolled")
    add_db_option(calibrate)
    add_pipeline_options(calibrate)
    calibrate.set_defaults(run=run_calibrate)


def run_enroll(args: argparse.Namespace) -> int:
    if args.name is None and (len(args.inputs) != 1 or not args.inputs[0].is_dir()):
        raise FacerecError("give one folder of known people, or --name NAME with photos")
    for path in args.inputs:
        if not path.exists() and not path.is_symlink():
            raise FacerecError(f"{path}: no such file or folder")
    if args.report:
        prepare_report(args.report, (".csv", ".json"))
    with open_recognizer(args, create=True) as recognizer:
        report = recognizer.enroll(None if args.name else args.inputs[0], name=args.name,
                                   paths=args.inputs if args.name else (),
                                   strict=args.strict, sync=args.sync, move=args.move,
                                   keep_poor=args.keep_poor, progress=sys.stderr.isatty())
    print_enroll_report(report)
    if args.report:
        with writing(args.report):
            write_skip_report(args.report, report)
    if report.photos == 0:
        raise FacerecError(f"no photos found to enroll in {', '.join(map(str, args.inputs))}")
    enrolled = report.stored + report.unchanged + len(report.duplicates)
    return 0 if not report.skipped else (1 if enrolled else 2)


def print_enroll_report(report: EnrollReport) -> None:
    print(f"people {len(report.people)}, photos {report.photos}: added {report.added}, "
          f"replaced {report.replaced}, unchanged {report.unchanged}, "
          f"duplicates {len(report.duplicates)}, removed {report.removed}, "
          f"skipped {len(report.skipped)}")
    for skip in report.skipped:
        print(shown(f"  skipped {skip.path}: {skip.reason}"), file=sys.stderr)
    for note in report.duplicates:
        print(shown(f"  duplicate {note.path}: {note.reason}"), file=sys.stderr)
    for note in report.several_faces + report.turned:
        print(shown(f"  note: {note.path}: {note.reason}"), file=sys.stderr)
    for note in report.suspicious:
        print(shown(f"  check label: {note.path}: {note.reason}"), file=sys.stderr)


def write_skip_report(path: Path, report: EnrollReport) -> None:
    rows = [("skipped", s) for s in report.skipped] + \
           [("duplicate", s) for s in report.duplicates] + \
           [("several_faces", s) for s in report.several_faces] + \
           [("turned", s) for s in report.turned] + \
           [("suspicious", s) for s in report.suspicious]
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv_writer(fh)
        writer.writerow(["kind", "path", "reason"])
        writer.writerows((kind, s.path, s.reason) for kind, s in rows)


def run_identify(args: argparse.Namespace) -> int:
    from facerec.formats.annotate import draw_matches
    from facerec.photos.image import read_image_file
    from facerec.photos.photo import decode_for_detection
    from facerec.results import Identification

    failures: list[str] = []
    paths = expand_or_report(args.inputs, failures)
    if not paths:
        raise FacerecError("no photos to identify: " + "; ".join(failures))
    if args.annotate:
        prepare_folder(args.annotate)
    with open_recognizer(args, create=False) as recognizer:
        if not recognizer.gallery.has_people():
            raise FacerecError(f"the database at {recognizer.address} has no one enrolled")
        threshold = recognizer.identification_threshold(args.threshold, args.fpir)
        writer = csv_writer(sys.stdout) if args.csv else None
        if writer:
            writer.writerow(["image", "face", "x1", "y1", "x2", "y2", "person", "status",
                             "similarity", "candidates", "reason", "threshold"])
        elif not args.json:
            print(f"facerec: identify names faces by: {threshold.describe()}",
                  file=sys.stderr)
        side = recognizer.analyzer.detector.config.max_side
        for path in paths:
            try:
                photo = decode_for_detection(read_image_file(path), str(path), side)
                matches = recognizer.identify(photo, args.top_k, threshold, args.upright)
                pixels = photo.full() if args.annotate else None
            except ImageError as exc:
                report_failure(failures, str(exc))
                continue
            answer = Identification(tuple(matches), threshold, recognizer.analyzer.model_id)
            print_matches(path, answer, args, writer)
            if pixels is not None:
                save_annotated(args.annotate, path, draw_matches(pixels, matches))
    return 1 if failures else 0


def print_matches(path: Path, answer: Identification, args: argparse.Namespace,
                  writer: SafeCsvWriter | None) -> None:
    matches = answer.matches
    if args.json:
        print(json.dumps({"image": str(path), **answer.to_dict()}))
    elif writer is not None:
        for index, m in enumerate(matches):
            others = ";".join(f"{c.person}:{c.similarity:.4f}" for c in m.candidates)
            writer.writerow([str(path), index, *[f"{v:.1f}" for v in m.detection.box],
                             m.person, m.status, f"{m.similarity:.4f}", others,
                             m.reason or "", f"{answer.threshold.value:.4f}"])
    else:
        print(f"{shown(path)}: {len(matches)} face{'s' if len(matches) != 1 else ''}")
        for m in matches:
            x1, y1, x2, y2 = m.detection.box
            shown_as = m.person if m.status != "unsure" else "unsure"
            line = (f"  {shown_as:<20} {m.similarity:6.3f}  box ({x1:.0f}, {y1:.0f}, "
                    f"{x2:.0f}, {y2:.0f})")
            if m.reason:
                line += f"  ({m.reason})"
            elif others := ", ".join(f"{c.person} {c.similarity:.2f}"
                                     for c in m.candidates[1:]):
                line += f"  next: {others}"
            print(line)


def save_annotated(folder: Path, source: Path, pixels) -> None:
    from PIL import Image

    target = folder / source.name
    counter = 1
    while target.exists():
        target = folder / f"{source.stem}-{counter}{source.suffix}"
        counter += 1
    with writing(target):
        Image.fromarray(pixels).save(target)


def run_people(args: argparse.Namespace) -> int:
    with open_gallery(args) as gallery:
        people = gallery.people()
        if not args.json:
            print(f"identify names faces by: {rule_in_force(gallery)}", file=sys.stderr)
    if args.json:
        print(json.dumps([{"name": n, "faces": c} for n, c in people]))
    else:
        for name, count in people:
            print(f"{name}\t{count}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from facerec.library.erasure import erase_from_library

    with open_gallery(args) as gallery:
        erased = gallery.remove(args.name)
        erase_from_library(gallery, erased)
    print(f"removed {args.name} ({len(erased.faces)} faces)")
    for line in erased.lines():
        print(shown(f"  {line}"))
    return 1 if erased.not_erased else 0


def run_rename(args: argparse.Namespace) -> int:
    with open_gallery(args) as gallery:
        gallery.rename(args.old, args.new)
    print(f"renamed {args.old} to {args.new}")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    with open_gallery(args) as gallery:
        moved = gallery.merge(args.source, args.target)
    print(f"merged {args.source} into {args.target} ({moved} faces moved)")
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from facerec.recognition.calibration import (
        CHECK_RATE,
        MIN_OWN_EVENTS,
        calibrate_gallery,
        calibrate_strangers,
    )

    if args.set is not None:
        if not -1.0 <= args.set <= 1.0:
            print("facerec: error: --set takes a cosine similarity, -1 to 1", file=sys.stderr)
            return 2
        with open_gallery(args) as gallery:
            gallery.set_threshold(args.set, {"method": "set", "threshold": args.set})
        print(f"stored: identify uses the threshold {args.set:.4f} from now on, whatever "
              "the number of people enrolled (`facerec calibrate` alone returns to the "
              "open-set rule)")
        return 0
    if args.far is None:
        with open_gallery(args) as gallery:
            found = calibrate_strangers(gallery, args.fpir or DEFAULT_FPIR)
        print(f"stored: at most {found.fpir:.2%} of strangers given a name; with "
              f"{found.people} people ({found.faces} faces) enrolled that is the threshold "
              f"{found.threshold:.4f}, and it follows the people enrolled from now on")
        if found.checked_rate is None:
            print(f"  the database's own faces give {found.own_pairs:,} pairs of different "
                  f"people, too few to check the model's impostor table (at least "
                  f"{MIN_OWN_EVENTS / CHECK_RATE:,.0f} are needed); the table is used as "
                  "it is")
        else:
            print(f"  checked on the database's own {found.own_pairs:,} pairs of different "
                  f"people: at the rate {found.checked_rate:g} they reach "
                  f"{found.own_similarity:.4f}, the table {found.table_similarity:.4f}; "
                  + (f"the threshold is raised by {found.offset:.4f}" if found.offset else
                     "no adjustment needed"))
        return 0
    with open_gallery(args) as gallery:
        result = calibrate_gallery(gallery, args.far, force=args.force)
    print(f"threshold {result.threshold:.4f} for FAR {result.far:g} "
          f"(from {result.genuine_pairs} genuine and {result.impostor_pairs} impostor pairs; "
          f"true accept rate {result.true_accept_rate:.2%}; mean similarity genuine "
          f"{result.genuine_mean:.3f}, impostor {result.impostor_mean:.3f})")
    if result.reliable or args.force:
        print("stored: identify names no face below this threshold from now on (the "
              "open-set rule may ask for more as people are enrolled)")
        return 0
    print(f"facerec: not stored: too few pairs to measure a FAR of {result.far:g} "
          f"(needs {10 / result.far:.0f} impostor and 20 genuine pairs); enroll more "
          "people and faces, or use --force", file=sys.stderr)
    return 1


def run_check(args: argparse.Namespace) -> int:
    from facerec.storage import repair

    location = db_path(args)
    if isinstance(location, str):  # PostgreSQL checks its own pages (amcheck)
        return _report_sound(location, "reached")
    folder = location
    problems = repair.check(folder)
    if problems:
        for problem in problems:
            print(f"damaged: {problem}")
        print(f"facerec: the database {folder} is damaged; `facerec repair --db {folder} "
              "--out NEW_FOLDER` saves what is readable", file=sys.stderr)
        return 2
    library = repair.check_library(folder)
    if library:
        for problem in library:
            print(f"damaged: {repair.LIBRARY}: {problem}")
        print(f"facerec: the photo library in {folder} is damaged; `facerec repair --db "
              f"{folder} --library` sets it aside, and `facerec scan` then reads the photos "
              "again", file=sys.stderr)
        return 2
    return _report_sound(folder, "sound")


def _report_sound(location: Path | str, state: str) -> int:
    """Who and what the database holds, its index built and caught up, and its rule."""
    from facerec.storage.gallery import Gallery

    with Gallery(location, create=False, check=False) as gallery:
        faces, indexed = gallery.check()
        people = len(gallery.people())
        rule = rule_in_force(gallery)
    print(f"{state}: {people} people, {faces} faces, {indexed} in the index")
    print(f"identify names faces by: {rule}")
    return 0


def rule_in_force(gallery: Gallery) -> str:
    """The decision rule a database's answers follow now, in words."""
    from facerec.recognition.matching import gallery_rule

    rule, templates = gallery_rule(gallery)
    rejected = sum(gallery.rejection_counts().values())
    return rule.threshold.describe() + (f"; {rejected} face{'s' if rejected != 1 else ''} "
                                        "marked as not someone" if rejected else "")


def run_repair(args: argparse.Namespace) -> int:
    from facerec.storage import repair

    folder = db_folder(args, "facerec repair", "restore the server's backup")
    if args.library:
        aside = repair.set_library_aside(folder)
        if aside is None:
            raise FacerecError(f"there is no photo library in {folder}")
        print(f"the photo library was set aside as {aside}; `facerec scan` builds it again "
              "from the photos (delete the file set aside once it has: it holds faces)")
        return 0
    result = repair.salvage(folder, args.out)
    print(f"saved {result.faces} faces of {result.people} people into {args.out}; "
          f"unreadable face ids: {result.unreadable_ids}")
    for low, high in result.unreadable_ranges:
        print(f"  unreadable ids {low}-{high}", file=sys.stderr)
    return 0 if not result.unreadable_ids else 1


def run_migrate(args: argparse.Namespace) -> int:
    from facerec.storage.copying import copy_database

    copied = copy_database(args.source, args.target)
    print(f"copied {copied.people} people, {copied.faces} faces, {copied.skips} skipped "
          f"photos, {copied.rejections} faces marked as not someone and {copied.settings} "
          f"settings into {args.target}; the copy was checked face for face")
    if isinstance(args.source, Path) and (args.source / "library.sqlite").is_file():
        print(f"facerec: the photo library stays in {args.source}", file=sys.stderr)
    return 0


def run_reindex(args: argparse.Namespace) -> int:
    from facerec.enrollment.reindex import reindex

    if not args.embedder:
        raise FacerecError("give the model to move to with --embedder NAME")
    folder = db_folder(args, "facerec reindex", "enroll the photos again into a new one")
    report = reindex(folder, make_analyzer(args), args.drop_missing,
                     progress=sys.stderr.isatty())
    for skip in report.missing:
        print(f"  not embedded again: {skip.path} ({skip.owner}): {skip.reason}",
              file=sys.stderr)
    if not report.switched:
        print(f"facerec: not switched: {len(report.missing)} of {report.faces} faces could "
              f"not be embedded again; the database still holds {report.previous} "
              "embeddings. Restore those photos, or use --drop-missing to leave them out",
              file=sys.stderr)
        return 2
    print(f"reindexed {report.embedded} of {report.faces} faces: {report.previous} -> "
          f"{report.model}; the old database is kept at {report.backup}")
    if report.previous:
        print("the calibrated threshold belonged to the old model; run `facerec calibrate` "
              "again if you used one")
    return 1 if report.missing else 0
