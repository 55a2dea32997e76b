"""``facerec detect``, ``embed`` and ``verify``: the pipeline on photos, no database."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from facerec.cli.locations import database_location
from facerec.cli.outputs import prepare_report, writing
from facerec.errors import FacerecError, ImageError
from facerec.escaping import csv_writer, shown
from facerec.models.model_id import ModelId
from facerec.photos.paths import expand_inputs

if TYPE_CHECKING:  # the networks load only when a command runs them
    from facerec.faces.analyzer import FaceAnalyzer
    from facerec.types import Face

EMBEDDER_ENV = "FACEREC_EMBEDDER"


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """Options every command that runs the networks shares."""
    parser.add_argument("--device", default=None,
                        help="cpu, cuda, cuda:N or mps (default: best available)")
    parser.add_argument("--min-score", type=float, default=None,
                        help="detector score threshold, 0..1 (default: 0.8)")
    parser.add_argument("--small-faces", choices=("auto", "always", "never"), default="auto",
                        help="look again at a photo enlarged 2x for faces under 10 pixels at "
                             "the detector's 1280-pixel working size: auto (default) when "
                             "it has small faces, always (crowds, class photos, wide "
                             "shots; about 4x the detection time), or never")
    parser.add_argument("--max-faces", type=positive_count, default=None, metavar="N",
                        help="most faces analysed per photo, the largest (default: 100; "
                             "each face costs about 9 ms on two CPU cores)")
    parser.add_argument("--embedder", default=None,
                        help="embedding model (default: $FACEREC_EMBEDDER, else the default "
                             "in `facerec models`); a database keeps the model it was made with")
    parser.add_argument("--precision", choices=("int8", "float"), default=None,
                        help="the embedder's numbers: int8 (8-bit integers, about 1.6x as "
                             "fast a face on the CPU) or float; default: int8 on x86 CPUs "
                             "with VNNI for SFace, float elsewhere")
    parser.add_argument("--compile", action="store_true",
                        help="compile the detector: the first photo of each size takes about "
                             "15 s more, later ones run faster (for video and servers)")


def positive_count(text: str) -> int:
    """A command-line count of at least 1."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count} is below 1")
    return count


def make_analyzer(args: argparse.Namespace, database: Path | str | None = None
                  ) -> FaceAnalyzer:
    """The networks the options ask for; with ``database``, its model unless the options
    or ``$FACEREC_EMBEDDER`` name one."""
    from facerec.faces.analyzer import MAX_FACES, FaceAnalyzer
    from facerec.faces.detector import DetectorConfig
    from facerec.storage.gallery import stored_model

    config = DetectorConfig(small_faces=args.small_faces)
    if args.min_score is not None:
        config = replace(config, score_threshold=args.min_score)
    stored = stored_model(database) if database is not None else None
    recorded = ModelId.parse(stored) if stored else None
    embedder = chosen_embedder(args, recorded)
    return FaceAnalyzer(args.device, detector_config=config, download=True,
                        compile_detector=args.compile, embedder=embedder,
                        flip=recorded == ModelId(embedder, flip=True),
                        max_faces=args.max_faces or MAX_FACES,
                        int8=None if args.precision is None else args.precision == "int8")


def chosen_embedder(args: argparse.Namespace, recorded: ModelId | None = None) -> str:
    """``--embedder``, else ``$FACEREC_EMBEDDER``, else the model a database ``recorded``,
    else the registry's default."""
    from facerec.models.registry import DEFAULT_EMBEDDER

    return (args.embedder or os.environ.get(EMBEDDER_ENV)
            or (recorded.embedder if recorded else None) or DEFAULT_EMBEDDER)


def register(commands: argparse._SubParsersAction) -> None:
    detect = commands.add_parser("detect", help="find faces: box, landmarks, score")
    detect.add_argument("inputs", nargs="+", metavar="PATH", help="photos, folders or globs")
    detect.add_argument("--json", action="store_true", help="print JSON lines")
    add_pipeline_options(detect)
    detect.set_defaults(run=run_detect)

    embed = commands.add_parser("embed", help="write every face's embedding to a file")
    embed.add_argument("inputs", nargs="+", metavar="PATH", help="photos, folders or globs")
    embed.add_argument("--out", type=Path, required=True,
                       help="output file: .npz (numpy) or .csv (pandas, spreadsheets)")
    add_pipeline_options(embed)
    embed.set_defaults(run=run_embed)

    verify = commands.add_parser(
        "verify", help="same person or not (exit 0 same, 1 different)",
        description="Compare the main face of two photos: of the faces at least half as "
                    "large as the largest, the one nearest the centre.")
    verify.add_argument("photo_a", type=Path)
    verify.add_argument("photo_b", type=Path)
    verify.add_argument("--threshold", type=float, default=None,
                        help="cosine similarity threshold (default: the calibrated one of "
                             "--db when given, else the model's)")
    verify.add_argument("--db", type=database_location, default=None,
                        help="use this database's calibrated threshold (a folder or a "
                             "postgresql:// address)")
    verify.add_argument("--json", action="store_true", help="print JSON")
    add_pipeline_options(verify)
    verify.set_defaults(run=run_verify)


def analyzed_photos(analyzer: FaceAnalyzer, paths: list[Path],
                    failures: list[str]) -> Iterator[tuple[Path, list[Face]]]:
    """Every readable photo with its faces, in batches; unreadable ones go to ``failures``."""
    from facerec.faces.reading import analyze_photos
    from facerec.results import Skip

    for path, outcome in analyze_photos(analyzer, ((path, path) for path in paths)):
        if isinstance(outcome, Skip):
            report_failure(failures, f"{outcome.path}: {outcome.reason}")
        else:
            yield path, outcome.faces


def expand_or_report(inputs: list[str], failures: list[str]) -> list[Path]:
    """The image paths named by ``inputs``; names that match nothing and refused folder
    entries go to ``failures`` with the reason."""
    paths, refused = expand_inputs(inputs)
    for path, reason in refused:
        report_failure(failures, f"{path}: {reason}")
    return paths


def require_some(paths: list[Path], failures: list[str], what: str) -> None:
    """Refuse to run with nothing to work on (FacerecError saying why)."""
    if not paths:
        detail = f": {'; '.join(failures)}" if failures else ""
        raise FacerecError(f"no photos to {what}{detail}")


def report_failure(failures: list[str], message: str) -> None:
    failures.append(message)
    print(shown(f"facerec: skipped {message}"), file=sys.stderr)


def run_detect(args: argparse.Namespace) -> int:
    failures: list[str] = []
    paths = expand_or_report(args.inputs, failures)
    require_some(paths, failures, "detect faces in")
    analyzer = make_analyzer(args)
    for path in paths:
        try:
            detections = analyzer.detect(path)
        except ImageError as exc:
            report_failure(failures, str(exc))
            continue
        if args.json:
            print(json.dumps({"image": str(path), "faces": [d.to_dict() for d in detections]}))
            continue
        print(f"{shown(path)}: {len(detections)} face{'s' if len(detections) != 1 else ''}")
        for d in detections:
            x1, y1, x2, y2 = d.box
            print(f"  box ({x1:.0f}, {y1:.0f}, {x2:.0f}, {y2:.0f})  score {d.score:.3f}")
    return 1 if failures else 0


def run_embed(args: argparse.Namespace) -> int:
    prepare_report(args.out, (".npz", ".csv"))
    failures: list[str] = []
    paths = expand_or_report(args.inputs, failures)
    require_some(paths, failures, "embed")
    analyzer = make_analyzer(args)
    rows: list[tuple[Path, int, Face]] = []
    for path, faces in analyzed_photos(analyzer, paths, failures):
        rows.extend((path, index, face) for index, face in enumerate(faces))
    write = write_npz if args.out.suffix.lower() == ".npz" else write_csv
    with writing(args.out):
        write(args.out, rows, analyzer.model_id, analyzer.embedder.dim)
    print(f"{len(rows)} faces from {len({r[0] for r in rows})} photos -> {args.out}",
          file=sys.stderr)
    return 1 if failures else 0


def write_npz(out: Path, rows: list[tuple[Path, int, Face]], model_id: str,
              dim: int) -> None:
    """Arrays: image (N,) str, face (N,) int, box (N, 4), landmarks (N, 5, 2), score (N,),
    embedding (N, D) float32, model () str. Loads with ``np.load(out)`` (no pickle); with
    no face, every array has N = 0."""
    import numpy as np

    np.savez(
        out,
        image=np.array([str(p) for p, _, _ in rows], dtype=str).reshape(-1),
        face=np.array([i for _, i, _ in rows], dtype=np.int32),
        box=np.array([f.detection.box for _, _, f in rows], dtype=np.float32).reshape(-1, 4),
        landmarks=np.array([f.detection.landmarks for _, _, f in rows],
                           dtype=np.float32).reshape(-1, 5, 2),
        score=np.array([f.detection.score for _, _, f in rows], dtype=np.float32),
        embedding=np.array([f.embedding for _, _, f in rows], dtype=np.float32).reshape(-1, dim),
        model=np.array(model_id),
    )


def write_csv(out: Path, rows: list[tuple[Path, int, Face]], model_id: str,
              dim: int) -> None:
    """Columns: image, face, x1, y1, x2, y2, score, model, e0 .. e{D-1} (a header alone
    when there is no face)."""
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv_writer(fh)
        writer.writerow(["image", "face", "x1", "y1", "x2", "y2", "score", "model",
                         *[f"e{i}" for i in range(dim)]])
        for path, index, face in rows:
            d = face.detection
            writer.writerow([str(path), index, *[f"{v:.2f}" for v in d.box], f"{d.score:.4f}",
                             model_id, *[f"{v:.7g}" for v in face.embedding]])


def run_verify(args: argparse.Namespace) -> int:
    from facerec.recognition.recognizer import Recognizer
    from facerec.recognition.verification import verify

    analyzer = make_analyzer(args, args.db)
    if args.db is not None:
        with Recognizer.open(args.db, analyzer, create=False) as recognizer:
            result = recognizer.verify(args.photo_a, args.photo_b, args.threshold)
    else:
        result = verify(args.photo_a, args.photo_b, args.threshold, analyzer)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        verdict = "same person" if result.same_person else "different people"
        print(f"{verdict}: similarity {result.similarity:.3f}, threshold "
              f"{result.threshold.value:.3f} ({result.threshold.source}; {result.model})")
    return 0 if result.same_person else 1
