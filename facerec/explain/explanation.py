"""What the networks see in one photo: where the detector fires, the aligned face, and the
embedder's feature maps stage by stage.

A convolutional embedder sees a face in stages: early layers answer to edges, spots and
colour, middle layers to parts (eyes, nose, mouth corners), the last ones to the mix of
parts that is one person. A *stage* here is the last layer at each spatial resolution of
the embedder, found by forward hooks on its own modules, so every model in the registry is
explained the same way without a list of layer names.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn

from facerec.errors import NoFaceError
from facerec.faces.analyzer import FaceAnalyzer
from facerec.faces.main_face import main_face
from facerec.photos.image import ImageInput, load_image
from facerec.types import Face


@dataclass
class Stage:
    """One stage of the embedder: its module's name and its (C, h, w) activations."""

    name: str
    activations: np.ndarray

    def strongest(self, count: int) -> list[int]:
        """The ``count`` channels with the highest mean activation."""
        means = self.activations.reshape(len(self.activations), -1).mean(axis=1)
        return [int(i) for i in np.argsort(-means)[:count]]


@dataclass
class Explanation:
    """Everything ``explain`` found for one photo.

    Attributes:
        photo: (H, W, 3) uint8 RGB.
        faces: every face found; ``face`` the one explained (the photo's main face).
        score_map: (H, W) float32 detector score in 0..1 around each pixel.
        crop: (S, S, 3) uint8 RGB, the aligned face the embedder saw.
        stages: the embedder's stages, input first.
    """

    photo: np.ndarray
    faces: list[Face]
    face: Face
    score_map: np.ndarray
    crop: np.ndarray
    stages: list[Stage]


def explain(analyzer: FaceAnalyzer, image: ImageInput) -> Explanation:
    """Run the networks on ``image`` and keep what they saw of its main face.

    Raises:
        NoFaceError: the photo has no face.
    """
    photo = load_image(image)
    faces = analyzer.analyze(photo)
    face = main_face(faces, photo.shape[1], photo.shape[0])
    if face is None:
        raise NoFaceError(f"no face found in {image if isinstance(image, str) else 'photo'}")
    crop = analyzer.face_picture(photo, face.detection)
    crops = torch.from_numpy(crop).permute(2, 0, 1)[None].float().to(analyzer.device)
    stages = stage_activations(analyzer.embedder.net, crops)
    return Explanation(photo, faces, face, analyzer.detector.score_map(photo), crop, stages)


def stage_activations(net: nn.Module, crops: torch.Tensor) -> list[Stage]:
    """The output of the last step at each spatial resolution, for the first crop.

    A step is a direct child of the network, or a child of a direct ``nn.Sequential``
    (one unit or block); steps whose output is an (N, C, h, w) map are watched by forward
    hooks, in the order they run, and a stage ends where the resolution changes.
    """
    steps: list[tuple[str, nn.Module]] = []
    for name, child in net.named_children():
        if isinstance(child, nn.Sequential):
            steps += [(f"{name}.{sub}", unit) for sub, unit in child.named_children()]
        else:
            steps.append((name, child))
    seen: list[tuple[str, torch.Tensor]] = []

    def watcher(name: str):
        def keep(_module: nn.Module, _inputs: object, output: object) -> None:
            if isinstance(output, torch.Tensor) and output.ndim == 4:
                seen.append((name, output[0].detach().float().cpu()))
        return keep

    handles = [module.register_forward_hook(watcher(name)) for name, module in steps]
    try:
        with torch.inference_mode():
            net(crops)
    finally:
        for handle in handles:
            handle.remove()
    return [Stage(name, output.numpy()) for index, (name, output) in enumerate(seen)
            if index + 1 == len(seen) or seen[index + 1][1].shape[-2:] != output.shape[-2:]]


def heatmap(values: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """(h, w) values -> (H, W, 3) uint8 RGB picture (viridis), scaled to their own range;
    ``size`` (W, H) enlarges it with visible cells."""
    low, high = float(values.min()), float(values.max())
    scaled = np.zeros_like(values) if high <= low else (values - low) / (high - low)
    grey = (scaled * 255).astype(np.uint8)
    if size is not None:
        grey = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_NEAREST))
    return cv2.applyColorMap(grey, cv2.COLORMAP_VIRIDIS)[:, :, ::-1].copy()
