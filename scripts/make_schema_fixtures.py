"""Write a small face database and photo library with the code checked out, as test
fixtures of their schema versions (tests/fixtures/schema/faces-v<N>.sqlite and
library-v<N>.sqlite, N the version the file records; 0 for files from before versions
were numbered).

Every release that changes a schema adds a step to the store's ``Schema`` and runs this
script once, so the tests keep opening a file of every version ever written. Nothing in
the files comes from a photo: the people are invented and the embeddings random.

    python scripts/make_schema_fixtures.py [--out tests/fixtures/schema]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
from pathlib import Path

import numpy as np

from facerec.storage.gallery import Gallery
from facerec.storage.library_store import FileState, LibraryStore, ScannedFace, ScannedPhoto
from facerec.storage.rows import NewFace
from facerec.types import Detection

REPO = Path(__file__).resolve().parent.parent
MODEL = "sface-2021dec"
DIM = 128
PEOPLE = {"Ada Lovelace": 3, "Zoë Ångström": 2}


def unit_vectors(count: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.standard_normal((count, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def detection(index: int) -> Detection:
    x, y = 10.0 + index, 20.0 + index
    return Detection.of((x, y, x + 100, y + 120),
                        [(x + 30, y + 50), (x + 70, y + 50), (x + 50, y + 70),
                         (x + 35, y + 95), (x + 65, y + 95)], 0.9)


def write_faces(folder: Path, rng: np.random.Generator) -> None:
    """Faces of two people, a skipped photo, a rejection and a calibrated threshold."""
    with Gallery(folder) as gallery:
        gallery.claim_model(MODEL)
        faces = [NewFace(person, f"known/{person}/{n}.jpg", f"{len(person)}{n}" * 8,
                         detection(n), 0.8, vector)
                 for person, count in PEOPLE.items()
                 for n, vector in enumerate(unit_vectors(count, rng))]
        gallery.add_faces(faces)
        gallery.record_skips([("known/Ada Lovelace/blurred.jpg", "ab" * 32, "no face found",
                               "Ada Lovelace")], "yunet-2023mar")
        gallery.reject("Ada Lovelace", NewFace("Ada Lovelace", "party.jpg#1", "cd" * 32,
                                               detection(9), 0.7, unit_vectors(1, rng)[0]))
        gallery.set_threshold(0.42, {"far": 0.001})


def write_library(folder: Path, rng: np.random.Generator) -> None:
    """Two photos, one with a face matched to the first enrolled face, and a skip."""
    store = LibraryStore(folder / "library.sqlite")
    try:
        vectors = unit_vectors(3, rng)
        store.add_photos([
            ScannedPhoto("photos/beach.jpg", FileState(1000, 1_700_000_000_000_000_000),
                         "ef" * 32, (640, 480), "2023-07-01T12:00:00", 0,
                         [ScannedFace(detection(1), 0.8, vectors[0], 1, 0.61),
                          ScannedFace(detection(2), 0.5, vectors[1])]),
            ScannedPhoto("photos/old/scan.png", FileState(2000, 1_600_000_000_000_000_000),
                         "01" * 32, (800, 600), None, 90,
                         [ScannedFace(detection(3), 0.6, vectors[2])]),
        ])
        store.record_skips([("photos/broken.jpg", FileState(10, 1_650_000_000_000_000_000),
                             "not an image")])
        store.set_meta({"model": MODEL})
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "schema")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "db"
        write_faces(folder, rng)
        write_library(folder, rng)
        versions = {}
        for name in ("faces.sqlite", "library.sqlite"):
            conn = sqlite3.connect(folder / name)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            versions[name] = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("VACUUM")
            conn.close()
        args.out.mkdir(parents=True, exist_ok=True)
        for name, version in versions.items():
            out = args.out / f"{Path(name).stem}-v{version}.sqlite"
            shutil.copyfile(folder / name, out)
            print(f"{out}: schema version {version}")


if __name__ == "__main__":
    main()
