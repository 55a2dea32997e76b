"""``facerec cluster``: group the faces of unnamed photos; ``facerec name-group``: enroll a
group as a person."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facerec.cli.database import add_db_option, db_path
from facerec.cli.faces import add_pipeline_options, expand_or_report, make_analyzer, require_some
from facerec.errors import FacerecError
from facerec.escaping import shown


def register(commands: argparse._SubParsersAction) -> None:
    cluster = commands.add_parser(
        "cluster", help="group the faces of photos by person, without names",
        description="Detects every face of the photos, groups faces of the same person "
                    "(a mutual nearest-neighbour graph built with FAISS, then Chinese "
                    "whispers), and writes groups.json, embeddings.npy and a contact sheet "
                    "per group into --out. Faces that fit no group stay ungrouped. Name a "
                    "group with `facerec name-group OUT GROUP NAME`.")
    cluster.add_argument("inputs", nargs="*", metavar="PATH", help="photos, folders or globs")
    cluster.add_argument("--library", action="store_true",
                         help="group the photo library's faces of nobody enrolled (from "
                              "their stored embeddings, see `facerec scan`) instead")
    add_db_option(cluster)
    cluster.add_argument("--out", type=Path, required=True, help="folder for the groups")
    cluster.add_argument("--threshold", type=float, default=None,
                         help="similarity that joins two faces (default: the model's "
                              "clustering threshold in `facerec models --json`)")
    cluster.add_argument("--algorithm", default="chinese-whispers",
                         choices=("chinese-whispers", "components"))
    cluster.add_argument("--neighbours", type=int, default=20,
                         help="neighbours per face in the graph (default: 20)")
    add_pipeline_options(cluster)
    cluster.set_defaults(run=run_cluster)

    name = commands.add_parser(
        "name-group", help="enroll one group made by `facerec cluster` as a person")
    name.add_argument("groups", type=Path, metavar="GROUPS", help="the folder of --out")
    name.add_argument("group", type=int, metavar="GROUP", help="its number (group-NNN.png)")
    name.add_argument("name", metavar="NAME", help="the person's name")
    add_db_option(name)
    name.set_defaults(run=run_name_group)


def run_cluster(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from facerec.clustering.groups import write_groups
    from facerec.clustering.photos import cluster_photos, cluster_unknown

    if args.library == bool(args.inputs):
        raise FacerecError("give photos to group, or --library for the library's unknown "
                           "faces")
    failed: list[str] = []
    photos = [] if args.library else expand_or_report(args.inputs, failed)
    if not args.library:
        require_some(photos, failed, "photos")
    analyzer = make_analyzer(args, db_path(args) if args.library else None)
    threshold = args.threshold if args.threshold is not None else \
        analyzer.embedder_spec.cluster_threshold
    if threshold is None:
        raise FacerecError(f"{analyzer.embedder_spec.name} has no clustering threshold; "
                           "give one with --threshold")
    if args.library:
        from facerec.library import Library

        with Library.open(db_path(args), create=False) as library:
            grouping = cluster_unknown(library, threshold, args.algorithm, args.neighbours)
        photos = sorted({Path(face.photo) for face in grouping.faces})
    else:
        with tqdm(total=len(photos), desc="faces", unit="photo",
                  disable=not sys.stderr.isatty()) as bar:
            grouping = cluster_photos(analyzer, photos, threshold, args.algorithm,
                                      args.neighbours, bar.update)

    sheets = write_groups(grouping, args.out, analyzer.face_picture)
    for skip in grouping.skipped:
        print(shown(f"  skipped {skip.path}: {skip.reason}"), file=sys.stderr)
    ungrouped = sum(1 for face in grouping.faces if face.group < 0)
    print(f"{len(grouping.faces)} faces in {len(photos)} photos: {len(sheets)} groups, "
          f"{ungrouped} ungrouped (threshold {threshold:.3f}, {args.algorithm})")
    for number, sheet in enumerate(sheets, start=1):
        print(f"  group {number}: {len(grouping.members(number - 1))} faces, {sheet}")
    if sheets:
        print(f"name one: facerec name-group {args.out} 1 NAME --db DIR")
    return 1 if failed or grouping.skipped else 0


def run_name_group(args: argparse.Namespace) -> int:
    from facerec.clustering.groups import read_groups
    from facerec.clustering.naming import name_group
    from facerec.storage.gallery import Gallery

    grouping = read_groups(args.groups)
    with Gallery(db_path(args)) as gallery:
        report = name_group(gallery, grouping, args.group, args.name)
    for skip in report.skipped:
        owner = f" ({skip.owner})" if skip.owner else ""
        print(shown(f"  skipped {skip.path}{owner}: {skip.reason}"), file=sys.stderr)
    print(f"enrolled {report.added} faces as {report.person} into {db_path(args)}")
    return 1 if report.skipped else 0
