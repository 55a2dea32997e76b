"""What erasing a person costs: ``Gallery.remove`` on synthetic databases of several sizes.

Each database holds people of 50 random unit faces; one person is removed, which deletes
their rows (``secure_delete``), truncates the write-ahead log, rewrites the index file (an
exact index, up to 50,000 faces) or drops it (an approximate one, rebuilt from SQLite by
the next search), and purges crops, skip memory and backups. Printed: the removal, and
the next search, which pays for a dropped index.

    python scripts/benchmark_erasure.py [--faces 2000 20000 60000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from facerec.storage.gallery import Gallery
from facerec.storage.store import NewFace
from facerec.types import Detection

BOX = Detection((10.0, 10.0, 60.0, 70.0), ((20.0, 30.0),) * 5, 0.9)
PER_PERSON = 50


def synthetic(folder: Path, faces: int, dim: int = 128) -> np.ndarray:
    """A database of ``faces`` faces; returns the last person's embeddings."""
    rng = np.random.default_rng(0)
    with Gallery(folder) as gallery:
        for person in range(faces // PER_PERSON):
            vectors = rng.standard_normal((PER_PERSON, dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            gallery.add_faces([NewFace(f"p{person}", f"/photos/{person}/{i}.jpg",
                                       f"{person:08d}{i:056d}", BOX, 0.9, v)
                               for i, v in enumerate(vectors)])
        gallery.search(vectors[:1], 1)   # the index file exists, as after any search
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, nargs="+", default=[2000, 20000, 60000])
    args = parser.parse_args()
    for faces in args.faces:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / "db"
            query = synthetic(folder, faces)
            with Gallery(folder) as gallery:
                started = time.perf_counter()
                erased = gallery.remove("p3")
                removal = time.perf_counter() - started
                started = time.perf_counter()
                gallery.search(query[:1], 1)
                search = time.perf_counter() - started
        print(f"{faces:>8,} faces: remove a person of {len(erased.faces)} faces "
              f"{removal * 1000:6.0f} ms (index {erased.index}, write-ahead log emptied: "
              f"{erased.log_truncated}); next search {search * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
