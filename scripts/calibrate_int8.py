"""Measure the scales of INT8 SFace (``facerec.models.int8``) on real aligned faces and
write its table,
``facerec/models/calibration/<model>.int8.json``.

The faces: the main face of LFW photos of people who are in none of LFW View 1's pairs
(``lfw_view1_pairs.csv``), so the accuracy ``evaluate_lfw.py --int8`` reports on View 1
is measured on people the scales never saw; every ``--step``-th such photo, up to
``--faces``. Each layer's input and output go through a histogram observer (the one
PyTorch's x86 default uses, on the full 8-bit range: FBGEMM computes in 32
bits on CPUs with VNNI) that picks the range losing the least.

    python scripts/calibrate_int8.py [--faces 512] [--step 7]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import torch
from torch.ao.quantization import HistogramObserver

from facerec import FaceAnalyzer
from facerec.faces.main_face import main_face
from facerec.faces.reading import analyze_photos
from facerec.models.int8 import Scale, quantized_units, write_table
from facerec.models.nets.sface import SFace
from facerec.results import Skip

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "faces"


def calibration_photos(faces: Path, count: int, step: int) -> list[Path]:
    """LFW photos of people in none of View 1's pairs: every ``step``-th, ``count`` at most."""
    with open(faces / "lfw_view1_pairs.csv", newline="", encoding="utf-8") as pairs:
        in_pairs = {Path(row[key]).parent.name for row in csv.DictReader(pairs)
                    for key in ("image_a", "image_b")}
    photos = [p for p in sorted(faces.glob("lfw/*/*.jpg")) if p.parent.name not in in_pairs]
    return photos[::step][:count]


def aligned_faces(analyzer: FaceAnalyzer, photos: list[Path]) -> torch.Tensor:
    """(N, 3, 112, 112) float RGB crops of each photo's main face, as the embedder sees them."""
    crops = []
    for path, outcome in analyze_photos(analyzer, ((p, p) for p in photos)):
        if isinstance(outcome, Skip) or not outcome.faces:
            continue
        face = main_face(outcome.faces, *outcome.size)
        if face is not None:
            crops.append(analyzer.align(path, [face.detection]))
    return torch.cat(crops)


def observed_scales(net: SFace, crops: torch.Tensor, batch: int = 32
                    ) -> dict[str, tuple[Scale, Scale]]:
    """Each quantized layer's (input, output) scales over ``crops``."""
    observers: dict[str, tuple[HistogramObserver, HistogramObserver]] = {}
    hooks = []

    def watch(name: str, layer: torch.nn.Conv2d) -> None:
        pair = (HistogramObserver(reduce_range=False), HistogramObserver(reduce_range=False))
        observers[name] = pair
        hooks.append(layer.register_forward_pre_hook(lambda _, args: pair[0](args[0])))
        hooks.append(layer.register_forward_hook(lambda _, __, out: pair[1](out)))

    for name, unit in quantized_units(net):
        watch(name, unit.conv)
    # the fully connected layer, with the feature BatchNorm folded in, takes the map
    # before that BatchNorm and gives what the network's fc gives
    pair = (HistogramObserver(reduce_range=False), HistogramObserver(reduce_range=False))
    observers["fc"] = pair
    hooks.append(net.features_bn.register_forward_pre_hook(lambda _, args: pair[0](args[0])))
    hooks.append(net.fc.register_forward_hook(lambda _, __, out: pair[1](out)))
    with torch.no_grad():
        for start in range(0, len(crops), batch):
            net(crops[start:start + batch])
    for hook in hooks:
        hook.remove()
    return {name: tuple(_scale(o) for o in pair)  # type: ignore[misc]
            for name, pair in observers.items()}


def _scale(observer: HistogramObserver) -> Scale:
    scale, zero_point = observer.calculate_qparams()
    return Scale(float(scale), int(zero_point))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=SHARED)
    parser.add_argument("--count", type=int, default=512)
    parser.add_argument("--step", type=int, default=7)
    parser.add_argument("--embedder", default="sface-2021dec")
    args = parser.parse_args()
    if not (args.faces / "lfw_view1_pairs.csv").is_file():
        sys.exit(f"{args.faces} has no LFW: the faces come from ../shared/faces")
    analyzer = FaceAnalyzer("cpu", download=True, embedder=args.embedder, int8=False)
    photos = calibration_photos(args.faces, args.count, args.step)
    crops = aligned_faces(analyzer, photos)
    net = analyzer.embedder.net
    assert isinstance(net, SFace)
    scales = observed_scales(net, crops)
    path = write_table(args.embedder, scales,
                       f"{len(crops)} aligned faces of LFW people in no View 1 pair "
                       f"(every {args.step}th photo; scripts/calibrate_int8.py)")
    print(f"{len(crops)} faces from {len(photos)} photos; {len(scales)} layers -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
