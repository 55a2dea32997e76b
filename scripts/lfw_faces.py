"""The main face of every LFW photo, embedded once per model and kept in ``data/``.

The open-set scripts (``measure_impostors.py``, ``benchmark_open_set.py``) need every
LFW photo's embedding; computing them takes minutes, so they are kept in
``data/lfw-<model>.npz`` (plain arrays, read with ``allow_pickle=False``) and reused
while the folder's list of photos is the same.

    python scripts/lfw_faces.py --model sface-2021dec [--faces ../shared/faces]
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FACES = REPO.parent / "shared" / "faces"
FORMAT = 2
"""Bumped when the cached arrays change."""


@dataclass(frozen=True)
class LfwFaces:
    """The main face of each LFW photo that has one.

    Attributes:
        labels: (N,) person of each face (LFW's folder name).
        paths: (N,) photo path relative to the LFW folder.
        embeddings: (N, D) float32 unit embeddings.
        sizes: (N,) the face box's shorter side in pixels.
        scores: (N,) the detector's confidence.
        landmarks: (N, 5, 2) the five landmarks in the photo's pixels.
    """

    labels: np.ndarray
    paths: np.ndarray
    embeddings: np.ndarray
    sizes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray


def lfw_photos(faces: Path) -> list[tuple[str, Path]]:
    """(person, photo) of every LFW photo, sorted."""
    root = faces / "lfw"
    return [(folder.name, photo) for folder in sorted(p for p in root.iterdir() if p.is_dir())
            for photo in sorted(folder.glob("*.jpg"))]


def _fingerprint(photos: list[tuple[str, Path]], model: str) -> str:
    text = f"{FORMAT}\n{model}\n" + "\n".join(f"{person}/{path.name}" for person, path in photos)
    return hashlib.sha256(text.encode()).hexdigest()


def lfw_faces(model: str, faces: Path = DEFAULT_FACES, flip: bool = False,
              int8: bool = False) -> LfwFaces:
    """Every LFW photo's main face embedded by ``model`` (from the cache when current);
    ``int8``: by its 8-bit embedder (``facerec.models.int8``)."""
    photos = lfw_photos(faces)
    if not photos:
        raise SystemExit(f"no LFW photos under {faces / 'lfw'}")
    tag = model + ("+flip" if flip else "") + ("-int8" if int8 else "")
    cache = REPO / "data" / f"lfw-{tag}.npz"
    made_by = tag  # and, in 8 bits, which 8-bit network: a changed one embeds again
    if int8:
        from facerec.models.int8 import variant

        made_by += f" {variant(model)}"
    fingerprint = _fingerprint(photos, made_by)
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            if str(stored["fingerprint"]) == fingerprint:
                return LfwFaces(stored["labels"], stored["paths"], stored["embeddings"],
                                stored["sizes"], stored["scores"], stored["landmarks"])
    found = _embed(photos, faces, model, flip, int8)
    cache.parent.mkdir(exist_ok=True)
    np.savez(cache, fingerprint=np.array(fingerprint), labels=found.labels,
             paths=found.paths, embeddings=found.embeddings, sizes=found.sizes,
             scores=found.scores, landmarks=found.landmarks)
    return found


def _embed(photos: list[tuple[str, Path]], faces: Path, model: str, flip: bool,
           int8: bool) -> LfwFaces:
    from facerec import FaceAnalyzer
    from facerec.evaluation.dataset import embed_photos

    analyzer = FaceAnalyzer(embedder=model, download=True, flip=flip, int8=int8)
    with tqdm(total=len(photos), desc=f"embedding LFW with {model}", unit="photo") as bar:
        found = embed_photos(analyzer, photos, bar.update)
    boxes = np.array([d.box for d in found.detections], dtype=np.float32).reshape(-1, 4)
    sizes = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    root = faces / "lfw"
    return LfwFaces(
        labels=np.array([str(label) for label in found.labels]),
        paths=np.array([str(Path(p).relative_to(root)) for p in found.paths]),
        embeddings=found.embeddings.astype(np.float32),
        sizes=sizes.astype(np.float32),
        scores=np.array([d.score for d in found.detections], dtype=np.float32),
        landmarks=np.array([d.landmarks for d in found.detections],
                           dtype=np.float32).reshape(-1, 5, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sface-2021dec")
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--flip", action="store_true")
    parser.add_argument("--int8", action="store_true")
    args = parser.parse_args()
    found = lfw_faces(args.model, args.faces, args.flip, args.int8)
    print(f"{len(found.labels)} faces of {len(set(found.labels))} people, "
          f"{found.embeddings.shape[1]}-d")


if __name__ == "__main__":
    main()
