"""Photo files to embeddings: facerec beside OpenCV running the same two ONNX files.

Sets of real photos: ``mixed`` (every sample and ``../shared/faces`` photo that is not
LFW, filled up to ``--photos`` with LFW portraits spread over the alphabet), ``phone``
(the same non-LFW photos enlarged to 4032 x 3024, a phone camera's size, saved as JPEG
quality 92 in a temporary folder), and ``collages`` (``collage_photos``: LFW portraits
pasted small into large photos, as faces are in a group photo). facerec reads them as
its commands do (``facerec.faces.reading.analyze_photos``: each file read once, hashed,
decoded, detected and embedded in batches); OpenCV's pipeline is the dozen lines a user would write:
``cv2.imread``, the photo scaled to at most 1280 px for ``FaceDetectorYN``, every face
cropped from the full photo with ``alignCrop`` and embedded with ``FaceRecognizerSF``.

The two take turns in one process (median of the rounds), then each runs alone, so
neither one's caches or threads can flatter or slow the other. ``--busy`` runs the same
again beside another process that keeps one core busy (what a laptop or a server is
doing), and gives each contender's slowdown.

Both run with freed memory kept for the next photo, as the ``facerec`` commands run
(``facerec.levers.allocator``).

``--ways`` times the other ways into facerec beside the commands' (``WAYS``): the
Python API's ``FaceAnalyzer.analyze`` on each file, ``analyze_batch`` on eight at a time,
and ``analyze`` on photos already decoded, beside OpenCV's pipeline on the same decoded
photos.

``--stages`` also times decoding, detection and embedding apart (each stage on the previous
stage's output, the fastest of the rounds).

    python scripts/benchmark_photos.py [--photos 60] [--rounds 5] [--busy] [--stages]
        [--ways commands analyze analyze_batch pixels] [--sets mixed phone collages]
        [--threads N] [--opencv-shrink area|linear]
"""

from __future__ import annotations

from facerec.levers import enable_levers

enable_levers()  # timed as the commands run: before torch is imported

import argparse
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from facerec import FaceAnalyzer
from facerec.faces.reading import analyze_photos
from facerec.levers.allocator import keep_freed_blocks
from facerec.models.weights import weights_path
from facerec.results import Skip

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "faces"
PHONE = (4032, 3024)
DETECTION_SIDE = 1280
SHRINK = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR}


def unique(paths: list[Path]) -> list[Path]:
    """``paths`` without byte-identical repeats, in order."""
    seen: set[str] = set()
    kept = []
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            kept.append(path)
    return kept


def non_lfw_photos(faces: Path) -> list[Path]:
    from facerec.photos.samples import default_dir
    found = sorted(p for p in default_dir().glob("*") if p.suffix.lower() in (".jpg", ".png"))
    for folder in ("photos", "gallery", "probes"):
        found += sorted(p for p in (faces / folder).rglob("*")
                        if p.suffix.lower() in (".jpg", ".png"))
    return unique(found)


def mixed_photos(faces: Path, count: int) -> list[Path]:
    photos = non_lfw_photos(faces)
    lfw = sorted(faces.glob("lfw/*/*.jpg"))
    if count > len(photos) and lfw:
        step = max(1, len(lfw) // (count - len(photos)))
        photos += lfw[::step][: count - len(photos)]
    return photos


def phone_photos(faces: Path, folder: Path) -> list[Path]:
    """The non-LFW photos enlarged and cut to a phone camera's 4032 x 3024 (turned to
    match each photo's orientation), JPEG quality 92, written to ``folder``."""
    made = []
    for index, source in enumerate(non_lfw_photos(faces)):
        image = cv2.imread(str(source))
        height, width = image.shape[:2]
        out_w, out_h = PHONE if width >= height else PHONE[::-1]
        scale = max(out_w / width, out_h / height)
        big = cv2.resize(image, (round(width * scale), round(height * scale)),
                         interpolation=cv2.INTER_CUBIC)
        top, left = (big.shape[0] - out_h) // 2, (big.shape[1] - out_w) // 2
        path = folder / f"phone_{index:02d}.jpg"
        cv2.imwrite(str(path), big[top:top + out_h, left:left + out_w],
                    [cv2.IMWRITE_JPEG_QUALITY, 92])
        made.append(path)
    return made


def collage_photos(faces: Path, folder: Path, count: int = 16, seed: int = 0) -> list[Path]:
    """``count`` collages: 3 to 10 LFW portraits, each 60 to 220 px, pasted at random
    places on a ``../shared/faces/photos`` photo enlarged to 1920 to 3200 px wide (a
    group photo's scale of faces), JPEG quality 90, written to ``folder``. The LFW people
    are drawn from the back half of the alphabet, which no lever was chosen on."""
    rng = np.random.default_rng(seed)
    backgrounds = sorted(p for p in (faces / "photos").glob("*.jpg"))
    people = sorted(faces.glob("lfw/*/*.jpg"))
    people = people[len(people) // 2:]
    made = []
    for index in range(count):
        canvas = cv2.imread(str(backgrounds[index % len(backgrounds)]))
        width = int(rng.integers(1920, 3201))
        height = round(width * canvas.shape[0] / canvas.shape[1])
        canvas = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_CUBIC)
        for _ in range(int(rng.integers(3, 11))):
            portrait = cv2.imread(str(people[int(rng.integers(len(people)))]))
            side = int(rng.integers(60, 221))
            portrait = cv2.resize(portrait, (side, side), interpolation=cv2.INTER_AREA)
            x = int(rng.integers(0, width - side))
            y = int(rng.integers(0, height - side))
            canvas[y:y + side, x:x + side] = portrait
        path = folder / f"collage_{index:02d}.jpg"
        cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
        made.append(path)
    return made


def facerec_pipeline(analyzer: FaceAnalyzer) -> Callable[[list[Path]], int]:
    def run(photos: list[Path]) -> int:
        faces = 0
        for _, outcome in analyze_photos(analyzer, ((p, p) for p in photos)):
            faces += 0 if isinstance(outcome, Skip) else len(outcome.faces)
        return faces
    return run


def analyze_each(analyzer: FaceAnalyzer) -> Callable[[list[Path]], int]:
    """The Python API's one-photo call on each file: ``FaceAnalyzer.analyze(path)``."""
    def run(photos: list[Path]) -> int:
        return sum(len(analyzer.analyze(path)) for path in photos)
    return run


def analyze_batches(analyzer: FaceAnalyzer, size: int = 8) -> Callable[[list[Path]], int]:
    """The Python API's batch call on the files, ``size`` at a time."""
    def run(photos: list[Path]) -> int:
        return sum(len(faces) for start in range(0, len(photos), size)
                   for faces in analyzer.analyze_batch(photos[start:start + size]))
    return run


def analyze_pixels(analyzer: FaceAnalyzer, decoded: dict[Path, np.ndarray]
                   ) -> Callable[[list[Path]], int]:
    """``FaceAnalyzer.analyze`` on photos already decoded (RGB arrays)."""
    def run(photos: list[Path]) -> int:
        return sum(len(analyzer.analyze(decoded[path])) for path in photos)
    return run


def opencv_pixels(analyzer: FaceAnalyzer, shrink: int, decoded: dict[Path, np.ndarray]
                  ) -> Callable[[list[Path]], int]:
    """OpenCV's pipeline on the same photos already decoded (BGR arrays)."""
    detector, recognizer = opencv_networks(analyzer)

    def run(photos: list[Path]) -> int:
        return sum(opencv_embed(recognizer, decoded[path],
                                *opencv_detect(detector, decoded[path], shrink))
                   for path in photos)
    return run


WAYS = ("commands", "analyze", "analyze_batch", "pixels")
"""The ways into facerec the benchmark times: ``analyze_photos`` (what enroll, embed and
scan run), ``FaceAnalyzer.analyze(path)``, ``analyze_batch(paths)`` and ``analyze(pixels)``
on decoded photos (beside OpenCV on the same decoded photos)."""


def opencv_networks(analyzer: FaceAnalyzer) -> tuple[cv2.FaceDetectorYN, cv2.FaceRecognizerSF]:
    """OpenCV's detector and recognizer on the analyzer's two ONNX files and thresholds."""
    config = analyzer.detector.config
    detector = cv2.FaceDetectorYN.create(str(weights_path(analyzer.detector_spec)), "",
                                         (320, 320), config.score_threshold,
                                         config.nms_threshold)
    return detector, cv2.FaceRecognizerSF.create(str(weights_path(analyzer.embedder_spec)), "")


def opencv_detect(detector: cv2.FaceDetectorYN, image: np.ndarray, shrink: int
                  ) -> tuple[np.ndarray | None, float]:
    """OpenCV's faces of a BGR photo scaled to at most ``DETECTION_SIDE`` (``shrink``: the
    interpolation), and that scale."""
    height, width = image.shape[:2]
    scale = min(1.0, DETECTION_SIDE / max(height, width))
    small = image if scale == 1.0 else cv2.resize(
        image, (round(width * scale), round(height * scale)), interpolation=shrink)
    detector.setInputSize((small.shape[1], small.shape[0]))
    return detector.detect(small)[1], scale


def opencv_embed(recognizer: cv2.FaceRecognizerSF, image: np.ndarray,
                 rows: np.ndarray | None, scale: float) -> int:
    """Embed each face OpenCV found (``rows`` at ``scale``) from the full photo; how many."""
    for row in rows if rows is not None else []:
        row = row.copy()
        row[:14] /= scale
        recognizer.feature(recognizer.alignCrop(image, row))
    return 0 if rows is None else len(rows)


def opencv_pipeline(analyzer: FaceAnalyzer, shrink: int) -> Callable[[list[Path]], int]:
    detector, recognizer = opencv_networks(analyzer)

    def run(photos: list[Path]) -> int:
        faces = 0
        for path in photos:
            image = cv2.imread(str(path))
            faces += opencv_embed(recognizer, image, *opencv_detect(detector, image, shrink))
        return faces
    return run


def stage_times(analyzer: FaceAnalyzer, photos: list[Path], rounds: int, shrink: int
                ) -> dict[str, tuple[float, float]]:
    """Per stage (decode, detect, embed), the fastest of ``rounds`` ms per photo of
    facerec's and OpenCV's, each stage timed on the previous stage's output."""
    from facerec.faces.reading import read_photos

    detector, recognizer = opencv_networks(analyzer)
    side = analyzer.detector.config.max_side

    def timed(work: Callable[[], object]) -> tuple[float, object]:
        start = time.perf_counter()
        result = work()
        return (time.perf_counter() - start) * 1000 / len(photos), result

    def in_batches(work: Callable[[list], list], items: list) -> list:
        return [out for start in range(0, len(items), 8) for out in work(items[start:start + 8])]

    times: dict[str, list[tuple[float, float]]] = {"decode": [], "detect": [], "embed": []}
    for _ in range(rounds):
        ours, decoded = timed(lambda: [read[1] for read in read_photos(photos, side)])
        theirs, images = timed(lambda: [cv2.imread(str(p)) for p in photos])
        times["decode"].append((ours, theirs))
        pixels = [photo.pixels for photo in decoded]
        ours, found = timed(lambda: in_batches(analyzer.detector.detect, pixels))
        theirs, their_found = timed(lambda: [opencv_detect(detector, i, shrink) for i in images])
        times["detect"].append((ours, theirs))
        ours, _ = timed(lambda: in_batches(
            lambda batch: analyzer._embedded([decoded[i] for i in batch],
                                             [found[i] for i in batch]),
            list(range(len(photos)))))
        theirs, _ = timed(lambda: [opencv_embed(recognizer, image, *detected)
                                   for image, detected in zip(images, their_found)])
        times["embed"].append((ours, theirs))
    return {stage: (min(t[0] for t in runs), min(t[1] for t in runs))
            for stage, runs in times.items()}


def per_photo_ms(run: Callable[[list[Path]], int], photos: list[Path]) -> float:
    start = time.perf_counter()
    run(photos)
    return (time.perf_counter() - start) * 1000 / len(photos)


def measure(contenders: dict[str, Callable[[list[Path]], int]], photos: list[Path],
            rounds: int) -> dict[str, tuple[float, float]]:
    """Per contender: median ms per photo taking turns, and median ms running alone."""
    for run in contenders.values():
        run(photos)
    turns: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            turns[name].append(per_photo_ms(run, photos))
    alone = {name: statistics.median(per_photo_ms(run, photos) for _ in range(rounds))
             for name, run in contenders.items()}
    return {name: (statistics.median(turns[name]), alone[name]) for name in contenders}


def report(title: str, photos: list[Path], faces: dict[str, int],
           figures: dict[str, tuple[float, float]]) -> None:
    """Each contender's ms per photo, and each facerec way against OpenCV on the same
    input (files, or decoded pixels)."""
    print(f"\n{title}: {len(photos)} photos, ms per photo (lower is better)")
    print(f"{'':22} {'in turns':>9} {'alone':>9} {'faces':>6} {'vs OpenCV':>20}")
    for name, (turns, alone) in figures.items():
        reference = "opencv pixels" if name == "analyze(pixels)" else "opencv"
        against = ""
        if not name.startswith("opencv") and reference in figures:
            theirs = figures[reference]
            against = f"{theirs[0] / turns:.2f}x / {theirs[1] / alone:.2f}x"
        print(f"{name:22} {turns:9.1f} {alone:9.1f} {faces[name]:6d} {against:>20}")


def contenders_for(analyzer: FaceAnalyzer, ways: list[str], shrink: int,
                   photos: list[Path]) -> dict[str, Callable[[list[Path]], int]]:
    """The facerec ways asked for, and OpenCV's pipeline on the same input."""
    chosen: dict[str, Callable[[list[Path]], int]] = {}
    if "commands" in ways:
        chosen["facerec"] = facerec_pipeline(analyzer)
    if "analyze" in ways:
        chosen["analyze(path)"] = analyze_each(analyzer)
    if "analyze_batch" in ways:
        chosen["analyze_batch(paths)"] = analyze_batches(analyzer)
    if set(ways) - {"pixels"}:
        chosen["opencv"] = opencv_pipeline(analyzer, shrink)
    if "pixels" in ways:
        bgr = {path: cv2.imread(str(path)) for path in photos}
        rgb = {path: cv2.cvtColor(image, cv2.COLOR_BGR2RGB) for path, image in bgr.items()}
        chosen["analyze(pixels)"] = analyze_pixels(analyzer, rgb)
        chosen["opencv pixels"] = opencv_pixels(analyzer, shrink, bgr)
    return chosen


def busy_core() -> subprocess.Popen:
    """Another process keeping one core busy until it is killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=SHARED)
    parser.add_argument("--photos", type=int, default=60, help="size of the mixed set")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sets", nargs="+", default=["mixed", "phone"],
                        choices=["mixed", "phone", "collages"])
    parser.add_argument("--ways", nargs="+", default=["commands"], choices=WAYS,
                        help="the ways into facerec to time (default: commands); "
                             "pixels also times OpenCV on the decoded photos")
    parser.add_argument("--precision", choices=("int8", "float"), default=None,
                        help="facerec's embedder (default: what facerec chooses here)")
    parser.add_argument("--busy", action="store_true",
                        help="also measure beside a process keeping one core busy")
    parser.add_argument("--stages", action="store_true",
                        help="also time decoding, detection and embedding apart")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch's threads (default: facerec's choice)")
    parser.add_argument("--opencv-shrink", choices=sorted(SHRINK), default="area",
                        help="how OpenCV's pipeline scales a large photo down (default: "
                             "area, what OpenCV's documentation advises for shrinking)")
    args = parser.parse_args()
    if not args.faces.is_dir():
        sys.exit(f"{args.faces} is missing: the photos come from ../shared/faces")
    if args.threads:
        torch.set_num_threads(args.threads)
    keep_freed_blocks()  # as the commands run (facerec.levers.allocator); OpenCV shares the process
    analyzer = FaceAnalyzer(download=True, int8=None if args.precision is None
                            else args.precision == "int8")
    shrink = SHRINK[args.opencv_shrink]
    print(f"facerec's embedder in {'int8' if analyzer.int8 else 'float'}; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"mixed": lambda: mixed_photos(args.faces, args.photos),
                "phone": lambda: phone_photos(args.faces, Path(tmp)),
                "collages": lambda: collage_photos(args.faces, Path(tmp))}
        for name in args.sets:
            photos = sets[name]()
            contenders = contenders_for(analyzer, args.ways, shrink, photos)
            faces = {who: run(photos) for who, run in contenders.items()}
            quiet = measure(contenders, photos, args.rounds)
            report(f"{name} photos", photos, faces, quiet)
            if args.stages:
                print("stage, fastest of the rounds, ms per photo: facerec / OpenCV")
                for stage, (ours, theirs) in stage_times(analyzer, photos,
                                                         args.rounds, shrink).items():
                    print(f"  {stage:<7} {ours:6.1f} {theirs:6.1f}  {theirs / ours:.2f}x")
            if args.busy:
                other = busy_core()
                try:
                    loaded = measure(contenders, photos, args.rounds)
                finally:
                    other.kill()
                    other.wait()
                report(f"{name} photos, one core kept busy by another process", photos,
                       faces, loaded)
                for who in contenders:
                    print(f"{who} takes {loaded[who][0] / quiet[who][0]:.2f}x as long "
                          f"with the other process running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
