"""``facerec batch``: many photos on a Ray cluster (``embed``), then Parquet into a
database (``enroll``) or matched against one (``identify``) without the networks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facerec.cli.database import add_db_option, db_path
from facerec.cli.decision import add_decision_options
from facerec.cli.outputs import writing
from facerec.errors import FacerecError
from facerec.escaping import csv_writer, shown


def register(commands: argparse._SubParsersAction) -> None:
    batch = commands.add_parser("batch", help="embed, enroll and identify at scale (Ray)")
    actions = batch.add_subparsers(dest="action", metavar="ACTION", required=True)

    embed = actions.add_parser(
        "embed", help="every face of many photos into Parquet, on a Ray cluster",
        description="Reads photos (folders, globs, or any URI Ray Data reads), embeds every "
                    "face in a pool of actors, and writes Parquet shards under OUT. A rerun "
                    "skips photos already there (by sha256). Needs the cluster extra: "
                    "pip install 'facerec[cluster]'.")
    embed.add_argument("sources", nargs="+", metavar="SOURCE")
    embed.add_argument("--out", type=Path, required=True)
    embed.add_argument("--workers", type=int, default=1, help="actors holding the networks")
    embed.add_argument("--gpus-per-worker", type=float, default=0.0)
    embed.add_argument("--address", default=None,
                       help="an existing Ray cluster (default: a local runtime)")
    embed.add_argument("--embedder", default="sface-2021dec")
    embed.set_defaults(run=run_embed)

    enroll = actions.add_parser(
        "enroll", help="Parquet embeddings into a database (folder name = person)")
    enroll.add_argument("records", type=Path, metavar="EMBEDDINGS")
    add_db_option(enroll)
    enroll.set_defaults(run=run_enroll)

    identify = actions.add_parser("identify", help="match Parquet embeddings to a database")
    identify.add_argument("records", type=Path, metavar="EMBEDDINGS")
    identify.add_argument("--out", type=Path, required=True, help="matches: .csv or .parquet")
    add_decision_options(identify)
    add_db_option(identify)
    identify.set_defaults(run=run_identify)


def run_embed(args: argparse.Namespace) -> int:
    try:
        from facerec.batch.embed import embed_to_parquet
    except ImportError as exc:
        raise FacerecError(f"facerec batch embed needs Ray ({exc}); "
                           "pip install 'facerec[cluster]'") from None
    if args.workers < 1:
        raise FacerecError("--workers must be at least 1")
    run = embed_to_parquet(args.sources, args.out, args.workers, args.gpus_per_worker,
                           args.embedder, args.address)
    from facerec.batch.records import read_records

    table = read_records(run.folder, ["face", "error"])
    faces = sum(1 for f in table.column("face").to_pylist() if f >= 0)
    failed = sum(1 for e in table.column("error").to_pylist() if e and e != "no face found")
    print(f"{faces} faces written to {run.folder}; {failed} photos could not be read "
          "(their reasons are in the records)")
    return 1 if failed else 0


def run_enroll(args: argparse.Namespace) -> int:
    from facerec.batch.enroll import enroll_records
    from facerec.storage.gallery import Gallery

    with Gallery(db_path(args)) as gallery:
        report = enroll_records(gallery, args.records)
    for skip in report.skipped:
        print(shown(f"  skipped {skip.path}: {skip.reason}"), file=sys.stderr)
    print(f"enrolled {report.added} faces of {len(report.people)} people into "
          f"{db_path(args)}; {len(report.skipped)} photos without a face")
    return 1 if report.skipped else 0


def run_identify(args: argparse.Namespace) -> int:
    from facerec.batch.enroll import identify_records
    from facerec.storage.gallery import Gallery

    with Gallery(db_path(args), create=False) as gallery:
        rows, used = identify_records(gallery, args.records, threshold=args.threshold,
                                      fpir=args.fpir)
    table = [{"photo": photo, "face": face, "person": m.person, "status": m.status,
              "similarity": round(m.similarity, 4),
              "box": " ".join(f"{v:.1f}" for v in m.detection.box)}
             for photo, face, m in rows]
    if args.out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        pq.write_table(pa.Table.from_pylist(table), args.out)
    else:
        columns = ["photo", "face", "person", "status", "similarity", "box"]
        with writing(args.out), open(args.out, "w", newline="", encoding="utf-8") as fh:
            writer = csv_writer(fh)
            writer.writerow(columns)
            writer.writerows([row[c] for c in columns] for row in table)
    named = sum(1 for row in table if row["person"] != "unknown")
    print(f"{len(table)} faces, {named} named ({used.describe()}), written to {args.out}")
    return 0
