"""The photo library's costs: scanning real photos against enrolling them, a rescan of an
unchanged library, and re-matching a library of a million faces.

* ``--photos DIR`` (default: the LFW photos of ``../shared/faces``): ``facerec scan``'s
  work in one process (``Library.scan``) against ``Recognizer.enroll`` of the same
  folder (the folder is a known-people layout), each into a fresh database, then a
  rescan of the unchanged library. ``--limit N`` takes the first N people's folders.
* ``--shared DIR`` (default ``../shared/faces``): its gallery enrolled, its probe photos
  scanned, and ``find`` asked for each person: the photos found against those
  ``probes.csv`` names them in (every one found, none of anyone else).
* ``--faces N`` (default 1,000,000): a library of N synthetic faces (shaped like SFace's,
  as ``benchmark_search.py`` makes them) matched to a gallery of ``--people`` people; then
  one more person is enrolled (5 faces) and the catch-up timed, as is a full re-match
  after the threshold is lowered below the recorded floor. Peak resident memory is
  printed after each part.

    python scripts/benchmark_library.py [--photos DIR] [--limit N] [--shared DIR]
                                        [--faces N] [--skip-photos] [--skip-synthetic]
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from facerec import FaceAnalyzer, Library, Recognizer
from facerec.storage.gallery import Gallery
from facerec.storage.library_store import FileState, ScannedFace, ScannedPhoto
from facerec.storage.rows import NewFace
from facerec.types import Detection

REPO = Path(__file__).resolve().parent.parent
DIM = 128
GENUINE = 0.66
FACES_PER_PHOTO = 2


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def photos_part(folder: Path, limit: int | None, work: Path) -> None:
    """Enroll and scan the same photos, in two halves taken in the order enroll, scan,
    scan, enroll, so that a change of load falls on both alike."""
    people = sorted(p for p in folder.iterdir() if p.is_dir())[:limit]
    halves = [work / "first", work / "second"]
    for index, person in enumerate(people):
        shutil.copytree(person, halves[index * 2 // len(people)] / person.name)
    count = sum(1 for half in halves for _ in half.rglob("*.jpg"))
    print(f"{count} photos of {len(people)} people from {folder}, in two halves")
    analyzer = FaceAnalyzer("cpu")
    spent = {"enroll": 0.0, "scan": 0.0}
    faces = {"enroll": 0, "scan": 0}
    with Recognizer.open(work / "enrolled", analyzer) as recognizer, \
            Library.open(work / "library", analyzer) as library:
        for tool, half in (("enroll", 0), ("scan", 0), ("scan", 1), ("enroll", 1)):
            started = time.perf_counter()
            if tool == "enroll":
                faces[tool] += recognizer.enroll(halves[half]).stored
            else:
                faces[tool] += library.scan([halves[half]]).faces
            spent[tool] += time.perf_counter() - started
    for tool in ("enroll", "scan"):
        print(f"{tool + ':':<8}{spent[tool]:.1f} s, {count / spent[tool]:.1f} photos/s "
              f"({faces[tool]} faces stored)")
    print(f"scan takes {spent['scan'] / spent['enroll']:.2f}x enroll's time")
    with Library.open(work / "library", analyzer) as library:  # as a new run opens it
        started = time.perf_counter()
        again = library.scan(halves)
        print(f"rescan of the unchanged library: {time.perf_counter() - started:.2f} s, "
              f"{again.analysed} analysed, {again.unchanged} unchanged")
    print(f"peak resident memory: {peak_mib():.0f} MiB")


def find_part(shared: Path, work: Path) -> None:
    with open(shared / "probes.csv", newline="") as fh:
        expected = {row["image"].split("/")[-1]: set(row["expected_identities"].split(";"))
                    for row in csv.DictReader(fh)}
    people = sorted(p.name for p in (shared / "gallery").iterdir() if p.is_dir())
    analyzer = FaceAnalyzer("cpu")
    with Recognizer.open(work / "probes", analyzer) as recognizer:
        recognizer.enroll(shared / "gallery")
        library = Library(recognizer.gallery, analyzer)
        library.scan([shared / "probes"])
        print("find on the shared gallery and probe photos:")
        for person in people:
            found = {Path(p.path).name for p in library.find([person])}
            truth = {name for name, who in expected.items() if person in who}
            print(f"  {person:<16} found {len(found & truth)} of {len(truth)} photos, "
                  f"{len(found - truth)} of anyone else")
        library.close()


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def around(centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = np.sqrt(1.0 / GENUINE - 1.0)
    noise = rng.standard_normal(centres.shape).astype(np.float32) * (sigma / np.sqrt(DIM))
    return unit(centres + noise).astype(np.float32)


def synthetic_part(faces: int, people: int, work: Path) -> None:
    print(f"peak resident memory before (the networks' modules imported): {peak_mib():.0f} MiB")
    rng = np.random.default_rng(0)
    identities = max(people * 4, faces // 50)  # most faces in a library are strangers
    centres = unit(rng.standard_normal((identities, DIM)).astype(np.float32))
    gallery = Gallery(work / "synthetic")
    gallery.claim_model("sface-2021dec")
    box = Detection((10.0, 10.0, 60.0, 70.0), ((20.0, 30.0),) * 5, 0.9)
    enrolled = around(np.repeat(centres[:people], 3, axis=0), rng)
    gallery.add_faces([NewFace(f"person{i // 3}", f"/enrolled/{i}.jpg", f"{i:064x}", box,
                               0.9, e) for i, e in enumerate(enrolled)])
    library = Library(gallery)
    library.store.set_meta({"model": "sface-2021dec"})
    started = time.perf_counter()
    batch = 20_000
    for start in range(0, faces, batch):
        count = min(batch, faces - start)
        who = rng.integers(0, identities, count)
        embeddings = around(centres[who], rng)
        photos = [ScannedPhoto(f"/photos/{start + i}.jpg", FileState(1, 1),
                               f"{start + i:064x}", (640, 480), None, 0,
                               [ScannedFace(box, 0.9, embeddings[i + j])
                                for j in range(min(FACES_PER_PHOTO, count - i))])
                  for i in range(0, count, FACES_PER_PHOTO)]
        library.store.add_photos(photos)
    print(f"{faces:,} synthetic faces stored in {time.perf_counter() - started:.1f} s "
          f"({identities:,} identities, {people} enrolled)")
    started = time.perf_counter()
    first = library.refresh()
    print(f"first match of every face: {time.perf_counter() - started:.2f} s "
          f"({first.rematched:,} faces)")
    print(f"peak resident memory: {peak_mib():.0f} MiB")

    newcomer = around(np.repeat(centres[people:people + 1], 5, axis=0), rng)
    gallery.add_faces([NewFace("newcomer", f"/enrolled/new{i}.jpg", f"{i:063x}n", box, 0.9, e)
                       for i, e in enumerate(newcomer)])
    timings = []
    for attempt in range(5):
        if attempt:  # enroll the next person for each timing
            more = around(np.repeat(centres[people + attempt:people + attempt + 1], 5, axis=0),
                          rng)
            gallery.add_faces([NewFace(f"newcomer{attempt}", f"/enrolled/n{attempt}-{i}.jpg",
                                       f"{attempt}{i:062x}m", box, 0.9, e)
                               for i, e in enumerate(more)])
        started = time.perf_counter()
        done = library.refresh()
        timings.append(time.perf_counter() - started)
        assert not done.full
    found = library.find(["newcomer"])
    print(f"re-match after enrolling one more person (5 faces): median "
          f"{np.median(timings) * 1000:.0f} ms over 5 people (min {min(timings) * 1000:.0f}, "
          f"max {max(timings) * 1000:.0f}); {done.rematched} faces took the newest person; "
          f"find(newcomer) lists {len(found)} photos")
    started = time.perf_counter()
    full = library.refresh(threshold=0.1)
    print(f"full re-match after the threshold fell below the floor: "
          f"{time.perf_counter() - started:.2f} s ({full.rematched:,} faces)")
    print(f"peak resident memory: {peak_mib():.0f} MiB")
    library.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=REPO.parent / "shared/faces/lfw")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared/faces")
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--skip-photos", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facerec-library-") as tmp:
        work = Path(tmp)
        if not args.skip_photos:
            if not args.photos.is_dir():
                print(f"no photos at {args.photos}", file=sys.stderr)
                return 2
            photos_part(args.photos, args.limit, work)
        if (args.shared / "probes.csv").is_file():
            find_part(args.shared, work)
        if not args.skip_synthetic:
            synthetic_part(args.faces, args.people, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
