"""The package's layers: every import, lazy ones included, goes to the same layer or a lower
one, so storage never reaches up to the networks and no workflow reaches up to a command
line or a route (see docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "facerec"

LAYERS = [
    # plain types, rules and files: no networks, no database
    {"errors", "types", "escaping", "names", "results", "paths", "files", "safe_arrays",
     "subject", "registry", "fetch", "device", "compiled", "align", "annotate",
     "encodings_file", "weights", "models", "nets", "image", "samples", "turning", "xmp",
     "face_crops", "box_ops", "reduced", "threads", "levers", "memory", "jpeg", "open_set",
     "quality", "impostor_tails"},
    # the networks: photo to faces
    {"detector", "embedder", "analyzer", "photos", "verification", "explain",
     "explain_pictures"},
    # storage: SQLite and the index
    {"db"},
    # the work done with faces and storage
    {"enrollment", "matching", "recognizer", "corrections", "calibration", "reindex",
     "import_encodings", "evaluation", "clustering", "batch", "live", "library"},
    # the ways in
    {"server", "cli", "web", "__main__"},
]
LAYER_OF = {name: number for number, names in enumerate(LAYERS) for name in names}


def part_of(module: str) -> str:
    """The top-level part of ``facerec.X.Y`` (``X``)."""
    return module.split(".")[1] if module.count(".") else ""


def imports(path: Path) -> set[str]:
    """Every facerec module ``path`` imports, at the top or inside a function."""
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            if node.module:
                found.add(".".join(base + [node.module]))
            else:
                found.update(".".join(base + [alias.name]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("facerec."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("facerec."))
    return found


def test_every_part_of_the_package_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert parts - {"__init__"} <= set(LAYER_OF), parts - set(LAYER_OF) - {"__init__"}


def test_no_import_reaches_up_a_layer():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts == ("__init__.py",):
            continue  # the package's public names, imported on first use
        here = relative.parts[0].removesuffix(".py")
        for target in imports(path):
            there = part_of(target)
            if there in LAYER_OF and LAYER_OF[there] > LAYER_OF[here]:
                upward.append(f"{relative} imports {target}")
    assert not upward, "\n".join(upward)


def test_storage_imports_only_plain_types():
    allowed = {"db", "errors", "types", "names", "results", "files"}
    reached = {f"{p.relative_to(PACKAGE)} -> {t}" for p in (PACKAGE / "db").rglob("*.py")
               for t in imports(p) if part_of(t) not in allowed}
    assert not reached, reached
