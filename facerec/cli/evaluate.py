"""``facerec evaluate``: how well a model recognises the people of a labelled folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facerec.cli.faces import add_pipeline_options, make_analyzer
from facerec.escaping import shown


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate", help="measure accuracy on your own labelled photos, choose a threshold",
        description="Splits DIR/<person>/*.jpg by person (fixed seed) into validation "
                    "people, on whom thresholds are chosen, and test people, on whom "
                    "everything is reported: ROC and DET curves, TAR at FAR, EER, open-set "
                    "rank-1, CMC and DIR at FPIR, the most confident mistakes, and a "
                    "recommended threshold. Writes PNGs, report.json and report.html.")
    parser.add_argument("folder", type=Path, metavar="DIR", help="DIR/<person>/*.jpg")
    parser.add_argument("--out", type=Path, required=True, help="folder for the report")
    parser.add_argument("--compare", default=None, metavar="MODEL",
                        help="a second embedder on the same split, or 'flip' for the same "
                             "model with mirrored crops added")
    parser.add_argument("--far", type=float, default=1e-3,
                        help="false-accept rate the recommended threshold keeps "
                             "(default: %(default)s)")
    parser.add_argument("--validation-share", type=float, default=0.5,
                        help="share of the people in the validation set (default: 0.5)")
    parser.add_argument("--strangers", type=float, default=0.2,
                        help="share of test people held out of the gallery (default: 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default: 0)")
    add_pipeline_options(parser)
    parser.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from facerec.evaluation.dataset import embed_photos, labelled_photos, split_people
    from facerec.evaluation.evaluate import evaluate
    from facerec.evaluation.report import write_report

    if not (0 < args.far < 1 and 0 < args.validation_share < 1 and 0 <= args.strangers < 1):
        print("facerec: error: --far and --validation-share must be between 0 and 1, "
              "--strangers from 0 to below 1", file=sys.stderr)
        return 2
    if not args.folder.is_dir():
        print(f"facerec: error: {args.folder} is not a folder", file=sys.stderr)
        return 2
    people = labelled_photos(args.folder)
    split = split_people(list(people), args.seed, args.validation_share)
    if not split.test or not split.validation:
        print(f"facerec: error: {args.folder} needs photos of at least two people (in "
              "DIR/<person>/ folders)", file=sys.stderr)
        return 2
    photos = [(person, path) for person in sorted(people) for path in people[person]]
    analyzers = [make_analyzer(args)]
    if args.compare:
        analyzers.append(_second_analyzer(args))
    results, skipped = [], []
    for analyzer in analyzers:
        with tqdm(total=len(photos), desc=f"embedding ({analyzer.model_id})", unit="photo",
                  disable=not sys.stderr.isatty()) as bar:
            faces = embed_photos(analyzer, photos, bar.update)
        skipped = faces.skipped
        results.append(evaluate(analyzer.model_id, analyzer.threshold,
                                faces.subset(split.validation), faces.subset(split.test),
                                args.far, args.strangers, args.seed))
    for skip in skipped:
        print(shown(f"  skipped {skip.path}: {skip.reason}"), file=sys.stderr)
    record = {"folder": str(args.folder), "seed": args.seed,
              "validation_people": len(split.validation), "test_people": len(split.test),
              "photos": len(photos), "skipped": len(skipped)}
    page = write_report(args.out, results, record, analyzers[0].face_picture)
    for result in results:
        _summary(result)
    print(f"report: {page}")
    return 0


def _second_analyzer(args: argparse.Namespace):
    from facerec.faces.analyzer import FaceAnalyzer

    first = make_analyzer(args)
    if args.compare == "flip":
        return FaceAnalyzer(args.device, embedder=first.embedder_spec.name, flip=True,
                            download=True, detector_config=first.detector.config)
    return FaceAnalyzer(args.device, embedder=args.compare, download=True,
                        detector_config=first.detector.config)


def _summary(result) -> None:
    v = result.figures.get("verification")
    if not v:
        print(f"{result.model}: {result.figures.get('error')}")
        return
    i = result.figures["identification"]
    tars = ", ".join(f"FAR {far}: {_percent(tar)}" for far, tar in v["tar_at_far"].items())
    dirs = ", ".join(f"FPIR {fpir}: {_percent(None if d is None else d['dir'])}"
                     for fpir, d in i["dir_at_fpir"].items())
    rec = v["recommended"]
    print(f"{result.model}: TAR at {tars}; EER {v['eer']:.2%}; accuracy "
          f"{v['accuracy_at_default']:.2%} at the model's threshold "
          f"{result.default_threshold:.3f}, {v['accuracy_at_chosen']:.2%} at "
          f"{v['chosen_threshold']:.3f} (the most accurate on the validation people); "
          f"rank-1 {i['rank1']:.2%}; DIR at {dirs}")
    _strangers_summary(result.figures["open_set"])
    if rec["reliable"]:
        print(f"  a pair threshold for FAR {result.target_far:g}: {rec['threshold']:.4f} "
              f"(test FAR {rec['far_on_test']:.2%}, TAR {rec['tar_on_test']:.2%}); identify "
              "keeps using the open-set rule, which sets its threshold for the people "
              "enrolled (fix one by hand with `facerec calibrate --db DIR --set T`)")
    else:
        needed = 10 / result.target_far
        print(f"  no pair threshold recommended: FAR {result.target_far:g} needs "
              f"{needed:,.0f} impostor pairs to measure, the validation people give "
              f"{v['validation_pairs']['impostor']:,}")


def _strangers_summary(figures: dict) -> None:
    """The open-set figures, said plainly (and said to be too few when they are)."""
    print(f"  with {figures['people']} people enrolled (threshold {figures['threshold']:.3f}, "
          f"{figures['threshold_source']}): strangers named {_percent(figures['strangers_named'])} "
          f"of {figures['strangers']}, people named right {_percent(figures['named_right'])} "
          f"of {figures['probes']}, wrong names {_percent(figures['wrong_names'])}, unsure "
          f"{_percent(figures['unsure'])}")
    if not figures["trusted"]:
        print(f"  these figures are too few to trust: a stranger rate of {figures['fpir']:.0%} "
              f"is measured with {10 / figures['fpir']:,.0f} strangers or more, this folder "
              f"has {figures['strangers']}")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"
