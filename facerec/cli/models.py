"""``facerec models``: list the models and their state, fetch them, import a file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from facerec.models.registry import DEFAULT_DETECTOR, DEFAULT_EMBEDDER, MODELS

DEFAULTS = (DEFAULT_DETECTOR, DEFAULT_EMBEDDER)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("models", help="list, fetch or import model weights")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=list_models)

    fetch = actions.add_parser(
        "fetch", help="download and verify weights",
        description="Without names, fetches every model whose licence allows any use; a "
                    "model for non-commercial use only is fetched when named with "
                    "--accept-license.")
    fetch.add_argument("names", nargs="*", metavar="NAME",
                       help="models (default: all that need no licence acceptance)")
    fetch.add_argument("--accept-license", action="store_true",
                       help="accept the non-commercial licence of the models named")
    fetch.set_defaults(run=fetch_models)

    imported = actions.add_parser("import", help="copy weights files handed over by hand")
    imported.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imported.set_defaults(run=import_models)

    samples = commands.add_parser("samples", help="fetch the sample photos into data/samples")
    samples.add_argument("--dest", type=Path, help="folder to write them to")
    samples.set_defaults(run=fetch_sample_photos)


def _int8_status(model: str) -> str | None:
    """Where ``model`` runs in 8 bits on the CPU (None: it has no 8-bit form)."""
    from facerec.models.int8 import has_table, int8_available, int8_by_default

    if not has_table(model):
        return None
    if int8_by_default():
        return "default here"
    return "available (--precision int8)" if int8_available() else "not on this machine"


def list_models(args: argparse.Namespace) -> int:
    from facerec.models import weights

    rows: list[dict[str, Any]] = []
    for spec in MODELS.values():
        state = weights.status(spec)
        int8 = _int8_status(spec.name)
        rows.append({"name": spec.name, "role": spec.role, "state": state.state,
                     "license": spec.license, "commercial_use": spec.commercial,
                     "terms": spec.terms, "default": spec.name in DEFAULTS,
                     "size": spec.size, "sha256": spec.sha256,
                     "accuracy": spec.accuracy, "threshold": spec.threshold,
                     "cluster_threshold": spec.cluster_threshold,
                     "path": str(state.path), "int8": int8,
                     "sources": [s.describe() for s in spec.sources]})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    licenses = [row["license"] + ("" if row["commercial_use"] else " (NON-COMMERCIAL)")
                for row in rows]
    width = max(map(len, licenses)) + 2
    print(f"{'name':<16}{'role':<10}{'state':<9}{'license':<{width}}{'size':>9}  "
          f"{'threshold':>9}  accuracy")
    for row, license_text in zip(rows, licenses):
        threshold = "" if row["threshold"] is None else f"{row['threshold']:.3f}"
        default = " [default]" if row["default"] else ""
        print(f"{row['name']:<16}{row['role']:<10}{row['state']:<9}{license_text:<{width}}"
              f"{row['size'] / 1e6:>7.1f}MB  {threshold:>9}  {row['accuracy']}{default}")
        if row["terms"]:
            print(f"{'':<16}{row['terms']}")
        if row["int8"]:
            print(f"{'':<16}8-bit on the CPU: {row['int8']} (the same weights and licence, "
                  "--precision float for float32)")
        print(f"{'':<16}from {row['sources'][0]}")
    print(f"cache: {weights.cache_dir()}")
    return 0


def fetch_models(args: argparse.Namespace) -> int:
    from facerec.models import weights

    names = args.names or [name for name, spec in MODELS.items() if weights.accepted(spec)]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(f"facerec: error: unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}",
              file=sys.stderr)
        return 2
    for name in names:
        path = weights.weights_path(MODELS[name], download=True,
                                    accept_license=args.accept_license and bool(args.names))
        print(f"{name}: ready ({path})")
    for name, spec in MODELS.items():
        if not args.names and not weights.accepted(spec):
            print(f"{name}: not fetched: {spec.license} ({spec.terms}); "
                  f"`facerec models fetch {name} --accept-license` fetches it")
    return 0


def import_models(args: argparse.Namespace) -> int:
    from facerec.models import weights

    for path in args.files:
        spec = weights.import_file(path)
        print(f"{path}: imported as {spec.name}")
    return 0


def fetch_sample_photos(args: argparse.Namespace) -> int:
    from facerec.photos.samples import fetch_samples

    print(fetch_samples(args.dest))
    return 0
