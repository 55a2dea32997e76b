"""The package's layout: a folder per concern, each saying in its docstring what it may
import, and layers that no import reaches up (docs/architecture.md draws the same
picture). Every import is counted, the ones inside functions and the names
``facerec/__init__.py`` exports on first use included."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import facerec

PACKAGE = Path(__file__).resolve().parent.parent / "facerec"

# the vocabulary every folder may use: modules at the package's root
VOCABULARY = {"errors", "types", "results", "names", "open_set", "escaping"}

LAYERS = [
    VOCABULARY,
    {"formats", "levers"},                              # files and process settings
    {"models", "photos"},                               # networks' weights, decoded photos
    {"faces", "explain"},                               # photo to faces
    {"storage"},                                        # what is kept on disk
    {"recognition", "enrollment", "library", "clustering", "evaluation", "batch", "live"},
    {"server", "cli", "__main__"},                      # the ways in
]
LAYER_OF = {name: number for number, names in enumerate(LAYERS) for name in names}


def part_of(module: str) -> str:
    """The folder or root module of ``facerec.X.Y`` (``X``)."""
    return module.split(".")[1] if module.count(".") else ""


def imports(path: Path) -> set[str]:
    """Every facerec module ``path`` imports, at the top or inside a function;
    ``from facerec import Name`` counts as the module that exports ``Name``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import (the package imports absolutely)")
        if isinstance(node, ast.ImportFrom) and node.module == "facerec":
            found.update(f"facerec.{facerec._EXPORTS[alias.name]}" for alias in node.names
                         if alias.name in facerec._EXPORTS)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("facerec."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("facerec."))
    return found


def folders() -> list[Path]:
    return sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def may_import(folder: Path) -> set[str]:
    """The folders a folder's docstring says it may import (``May import: a, b.c``)."""
    doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    said = re.search(r"^May import: (.*?)(?:\n\n|\Z)", doc or "", re.M | re.S)
    assert said, f"{folder.name}/__init__.py does not say what it may import"
    words = said.group(1).replace("\n", " ").rstrip(".")
    if words == "every other folder":
        return {f.name for f in folders()}
    if words.startswith("nothing but"):
        return set()
    return {w.strip().split(",")[0] for w in re.split(r", (?:and )?", words) if w.strip()} - {
        "the vocabulary at the package's root"}


def test_every_part_of_the_package_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if p.suffix == ".py" or (p / "__init__.py").is_file()}
    assert parts - {"__init__"} <= set(LAYER_OF), parts - set(LAYER_OF) - {"__init__"}


def test_every_folder_says_what_it_owns_and_may_import():
    for folder in folders():
        for name in may_import(folder):
            assert (PACKAGE / name.split(".")[0]).exists(), f"{folder.name}: {name}?"
            there = name.split(".")[0]
            assert LAYER_OF[there] <= LAYER_OF[folder.name], \
                f"{folder.name} says it may import {name}, a layer above it"


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


def test_each_folder_imports_only_what_it_says():
    unsaid = []
    for folder in folders():
        allowed = may_import(folder)
        for path in sorted(folder.rglob("*.py")):
            for target in imports(path):
                there = part_of(target)
                inside = target.removeprefix("facerec.")
                if (there in VOCABULARY or there == folder.name or there in allowed
                        or any(inside == a or inside.startswith(a + ".") for a in allowed)):
                    continue
                unsaid.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert not unsaid, "\n".join(unsaid)


def test_the_vocabulary_imports_only_itself():
    reached = {f"{name}.py -> {t}" for name in VOCABULARY
               for t in imports(PACKAGE / f"{name}.py") if part_of(t) not in VOCABULARY}
    assert not reached, reached


def test_public_names_are_exported_from_where_they_live():
    for name in facerec.__all__:
        module = facerec._EXPORTS[name]
        assert part_of(f"facerec.{module}") in LAYER_OF or module in LAYER_OF, module
        assert getattr(facerec, name).__module__.startswith(f"facerec.{module}"), name
