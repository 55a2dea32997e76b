"""Face detection: a detector network's outputs turned into boxes, landmarks and scores.

Preprocess (scale to the working size: large photos down, small ones up; pad to
multiples of the network's divisor; batch) -> the network (YuNet) -> its own decoding
of the cells above the score threshold -> ``torchvision.ops.batched_nms`` ->
coordinates back in the input image.

YuNet's anchors cover faces from about 10 to about 300 pixels. A face that fills a large
photo (a close-up portrait) is beyond that at the working size, so a photo in which the
first pass finds nothing, a face over ``LARGE_FACE_PIXELS`` (in a photo, not a video's
frame), or only faces near the frame's size, is looked at again on a coarse copy (its
longer side ``coarse_side``, in a grey border a quarter of that wide), unless the first
pass already saw it at that size or smaller (every face of a 250-pixel portrait is within
the network's range as it is). At the other end, a crowd or a class photo taken wide has
faces under 10 pixels at the working size, which the network misses: a photo in which
the first pass found a face near that floor (``SMALL_FACE``), or a small one just under
the threshold (``HINT_SCORE``), is looked at again enlarged ``CLOSER_ZOOM`` times, where
such faces are large enough; a photo with no small face never pays for it.
All passes' faces are merged by NMS, so a face found twice is kept once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import cv2
import numpy as np
import torch

from facerec.faces.nms import batched_nms, nms
from facerec.levers.allocator import detection_done
from facerec.levers.threads import fit_threads
from facerec.models.compiled import CompiledNetwork
from facerec.models.nets.onednn import onednn_convolutions
from facerec.photos.image import halved
from facerec.types import Detection


class DetectorNetwork(Protocol):
    """What a detector network (``facerec.models.nets.yunet.YuNet``) offers the detector: its
    input sizes are multiples of ``divisor``; ``for_inference()`` readies it for RGB
    (N, 3, H, W) float 0..255 input; ``decode`` turns its raw outputs into image index
    (K,), boxes (K, 4), landmarks (K, 5, 2) and scores (K,) in batch pixels."""

    divisor: int

    def __call__(self, batch: torch.Tensor) -> Any: ...

    def eval(self) -> Any: ...

    def for_inference(self) -> Any: ...

    def decode(self, raw: Any, height: int, width: int, score_threshold: float
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]: ...

    def score_maps(self, raw: Any, height: int, width: int) -> torch.Tensor: ...


@dataclass(frozen=True)
class DetectorConfig:
    """Detection settings.

    Attributes:
        score_threshold: keep faces scoring at least this (0..1).
        nms_threshold: suppress boxes overlapping a better one by more than this IoU.
        top_k: keep at most this many faces per image.
        max_side: photos whose longer side exceeds this are detected on a downscaled
            copy; coordinates are returned in the full-resolution image. ``None``: never.
        min_side: photos whose longer side is below this are detected on a copy enlarged
            to it (at most 4x), where small faces are found more reliably. ``None``: never.
        coarse_side: longer side of the second, coarse look at a photo in which the first
            pass found no face, a very large one, or only faces at least half the frame's
            width (see the module docstring). ``None``: no second look.
        small_faces: the closer look at a photo enlarged (see the module docstring):
            ``"auto"`` when the first pass found a face near the smallest it sees,
            ``"always"`` for every photo (crowds, class photos, wide shots), or ``"never"``.
        batch_pixels: most padded pixels per forward pass; ``None`` picks by device:
            two 640x480 frames on the CPU, where larger batches fall out of cache and run
            slower per image, and forty elsewhere.
    """

    score_threshold: float = 0.8
    nms_threshold: float = 0.3
    top_k: int = 750
    max_side: int | None = 1280
    min_side: int | None = 224
    coarse_side: int | None = 320
    small_faces: Literal["auto", "always", "never"] = "auto"
    batch_pixels: int | None = None


CPU_BATCH_PIXELS = 2 * 640 * 480
ACCELERATOR_BATCH_PIXELS = 40 * 640 * 480
MAX_UPSCALE = 4.0
LARGE_FACE = 0.5
"""A face at least this share of the frame's width or height counts as near its size."""
LARGE_FACE_PIXELS = 256.0
"""A face whose shorter side is over this many pixels at the working size is near the
largest the network sees well: its score and landmarks fall off beyond (a phone's close
portrait), so the photo is looked at again on the coarse copy."""
SMALL_FACE = 20.0
"""A face whose shorter side is under this many pixels at the working size is near the
smallest the network finds (about 10): the photo is looked at again enlarged."""
CLOSER_ZOOM = 2.0
"""How much the closer look enlarges the photo's working copy."""
HINT_SCORE = 0.5
"""A small detection scoring at least this, under the threshold, is a hint that a photo
holds faces too small for the first pass: it asks for the closer look, never a result."""

Prepared = tuple[np.ndarray, tuple[float, float], tuple[float, float]]
"""An image as the network sees it, its (x, y) scale from the input, and the (x, y)
offset of the input's top-left corner in it."""


@dataclass
class LookCount:
    """How often one of the extra looks ran, and what it gave.

    Attributes:
        ran: images looked at again.
        found: of those, images where the look found a face the first pass had not.
        faces: faces it added, over all images.
    """

    ran: int = 0
    found: int = 0
    faces: int = 0

    def count(self, added: int) -> None:
        self.ran += 1
        self.found += added > 0
        self.faces += max(added, 0)


@dataclass
class Looks:
    """What a detector's passes did since it was made (``scripts/measure_looks.py``
    reports them per kind of photo): ``first`` images detected, and each extra look's
    ``LookCount``."""

    first: int = 0
    closer: LookCount = field(default_factory=LookCount)
    coarse: LookCount = field(default_factory=LookCount)


class FaceDetector:
    """Batched face detection on a device.

    The network is prepared for inference (for YuNet: head branches merged, RGB input
    folded into the stem, each ReLU applied inside the convolution before it; on the CPU
    every convolution on oneDNN with its weights laid out once, see
    ``facerec.models.nets.onednn``) in channels-last memory (an RGB uint8 (H, W, 3) frame
    already is that layout).

    Args:
        net: a detector network with loaded weights (see ``DetectorNetwork``).
        device: where to run it.
        config: thresholds and sizes.
        compile: run the network through ``torch.compile`` (see ``facerec.models.compiled``).
    """

    def __init__(self, net: DetectorNetwork, device: torch.device,
                 config: DetectorConfig = DetectorConfig(), compile: bool = False) -> None:
        self.net: DetectorNetwork = onednn_convolutions(net.eval().for_inference()).to(
            device, memory_format=torch.channels_last)
        self._forward = CompiledNetwork(self.net, "the detector") if compile else self.net
        self.device = device
        self.config = config
        self.batch_pixels = config.batch_pixels or (
            CPU_BATCH_PIXELS if device.type == "cpu" else ACCELERATOR_BATCH_PIXELS)
        self.looks = Looks()

    @torch.inference_mode()
    def detect(self, images: Sequence[np.ndarray], frames: bool = False
               ) -> list[list[Detection]]:
        """Detect faces in RGB uint8 (H, W, 3) images; one list per image, best first.

        Images that pad to the same size run together, so a mix of portrait and
        landscape photos is not padded to a square, in batches of at most
        ``batch_pixels``. ``frames``: the images are a video's frames, where a face over
        ``LARGE_FACE_PIXELS`` does not ask for the coarse look: a face that close to a
        camera stays in view for many frames, and would cost each a second pass and
        have its box taken from one pass or the other from frame to frame. On the
        CPU, PyTorch's threads are first fitted to the cores other processes leave free
        (``facerec.levers.threads``); once done, the allocator is told
        (``facerec.levers.allocator.detection_done``).
        """
        if self.device.type == "cpu":
            fit_threads()
        candidates = self._run([self._working(image) for image in images], HINT_SCORE)
        threshold = self.config.score_threshold
        results = [[d for d in found if d.score >= threshold] for found in candidates]
        self.looks.first += len(images)
        self._look_again(images, results, [self._worth_a_closer_look(image, found)
                                           for image, found in zip(images, candidates)],
                         self._closer, self.looks.closer)
        self._look_again(images, results, [self._worth_a_coarse_look(image, found, frames)
                                           for image, found in zip(images, results)],
                         self._coarse, self.looks.coarse)
        detection_done()
        return results

    def _look_again(self, images: Sequence[np.ndarray], results: list[list[Detection]],
                    wanted: Sequence[bool], view: Callable[[np.ndarray], Prepared],
                    counts: LookCount) -> None:
        """Detect the ``wanted`` images again as ``view`` prepares them (in one batch) and
        merge what is found into their ``results``."""
        chosen = [i for i, want in enumerate(wanted) if want]
        if chosen:
            for index, extra in zip(chosen, self._run([view(images[i]) for i in chosen])):
                before = len(results[index])
                results[index] = self._merge(results[index] + extra)
                counts.count(len(results[index]) - before)

    @torch.inference_mode()
    def score_map(self, image: np.ndarray) -> np.ndarray:
        """(H, W) float32 face score in 0..1 around each pixel of an RGB (H, W, 3) image:
        where the network sees faces, before any threshold."""
        working, _, _ = self._working(image)
        divisor = self.net.divisor
        height = _round_up(working.shape[0], divisor)
        width = _round_up(working.shape[1], divisor)
        raw = self._forward(self._batch([working], height, width))
        maps = self.net.score_maps(raw, height, width)[0]
        scores = maps[: working.shape[0], : working.shape[1]].float().cpu().numpy()
        return np.asarray(cv2.resize(scores, (image.shape[1], image.shape[0]),
                                     interpolation=cv2.INTER_LINEAR))

    def _run(self, prepared: Sequence[Prepared], floor: float | None = None
             ) -> list[list[Detection]]:
        """Detections of each prepared image, in input coordinates: those scoring at least
        the score threshold, or at least ``floor`` when that is lower."""
        threshold = self.config.score_threshold if floor is None else \
            min(floor, self.config.score_threshold)
        groups: dict[tuple[int, int], list[int]] = {}
        for index, (image, _, _) in enumerate(prepared):
            divisor = self.net.divisor
            size = (_round_up(image.shape[0], divisor), _round_up(image.shape[1], divisor))
            groups.setdefault(size, []).append(index)
        results: list[list[Detection]] = [[] for _ in prepared]
        for (height, width), same_size in groups.items():
            per_batch = max(1, self.batch_pixels // (height * width))
            for start in range(0, len(same_size), per_batch):
                members = same_size[start:start + per_batch]
                batch = self._batch([prepared[i][0] for i in members], height, width)
                raw = self._forward(batch)
                found = self._select(*self.net.decode(raw, height, width, threshold),
                                     [prepared[i][1:] for i in members])
                for index, detections in zip(members, found):
                    results[index] = detections
        return results

    def _working(self, image: np.ndarray) -> Prepared:
        """The image at its working size (large photos down, small ones up)."""
        height, width = image.shape[:2]
        return _resized(image, self._scale_for(width, height)) + ((0.0, 0.0),)

    def _worth_a_closer_look(self, image: np.ndarray, candidates: list[Detection]) -> bool:
        """Whether to look again enlarged: ``candidates`` are the first pass's detections
        down to ``HINT_SCORE``, where a face too small to pass the threshold shows."""
        mode = self.config.small_faces
        if mode != "auto":
            return mode == "always"
        scale = self._scale_for(image.shape[1], image.shape[0])
        return any(min(d.width, d.height) * scale < SMALL_FACE for d in candidates)

    def _closer(self, image: np.ndarray) -> Prepared:
        """The image enlarged ``CLOSER_ZOOM`` times from its working size."""
        height, width = image.shape[:2]
        return _resized(image, CLOSER_ZOOM * self._scale_for(width, height)) + ((0.0, 0.0),)

    def _worth_a_coarse_look(self, image: np.ndarray, found: list[Detection],
                             frame: bool) -> bool:
        side = self.config.coarse_side
        if side is None:
            return False
        height, width = image.shape[:2]
        scale = self._scale_for(width, height)
        if max(height, width) * scale <= side:
            return False  # the coarse copy would be no smaller than the first pass's
        if not found:
            return True
        if not frame and any(min(d.width, d.height) * scale > LARGE_FACE_PIXELS for d in found):
            return True
        return all(d.width >= LARGE_FACE * width or d.height >= LARGE_FACE * height
                   for d in found)

    def _coarse(self, image: np.ndarray) -> Prepared:
        """The image with its longer side at ``coarse_side``, in a grey border a quarter of
        that wide, so a face that fills the photo is well inside the network's view."""
        side = self.config.coarse_side
        assert side is not None
        height, width = image.shape[:2]
        small, scale = _resized(image, side / max(height, width))
        border = side // 4
        framed = cv2.copyMakeBorder(small, border, border, border, border,
                                    cv2.BORDER_CONSTANT, value=(127, 127, 127))
        return framed, scale, (float(border), float(border))

    def _merge(self, detections: list[Detection]) -> list[Detection]:
        """One detection per face, best score first, at most ``top_k``."""
        if len(detections) < 2:
            return detections
        boxes = torch.tensor([d.box for d in detections], dtype=torch.float32)
        scores = torch.tensor([d.score for d in detections], dtype=torch.float32)
        keep = nms(boxes, scores, self.config.nms_threshold)
        return [detections[i] for i in keep.tolist()][: self.config.top_k]

    def _batch(self, images: Sequence[np.ndarray], height: int, width: int) -> torch.Tensor:
        """(N, 3, height, width) float channels-last batch, each image padded at its
        bottom and right with zeros."""
        batch = torch.zeros((len(images), height, width, 3), dtype=torch.uint8)
        for index, image in enumerate(images):
            batch[index, : image.shape[0], : image.shape[1]] = torch.from_numpy(image)
        batch = batch.to(self.device, non_blocking=True).permute(0, 3, 1, 2).float()
        return batch.contiguous(memory_format=torch.channels_last)

    def _scale_for(self, width: int, height: int) -> float:
        longest = max(width, height)
        high, low = self.config.max_side, self.config.min_side
        if high is not None and longest > high:
            return high / longest
        if low is not None and longest < low:
            return min(MAX_UPSCALE, low / longest)
        return 1.0

    def _select(self, image_index: torch.Tensor, boxes: torch.Tensor,
                landmarks: torch.Tensor, scores: torch.Tensor,
                placements: list[tuple[tuple[float, float], tuple[float, float]]]
                ) -> list[list[Detection]]:
        """NMS per image in one call, top-k, and back to input coordinates (each image's
        (scale, offset) in ``placements``)."""
        keep = batched_nms(boxes, scores, image_index, self.config.nms_threshold)
        rows_boxes = boxes[keep].cpu().double().numpy()
        rows_landmarks = landmarks[keep].cpu().double().numpy()
        rows_scores = scores[keep].cpu().numpy()
        rows_image = image_index[keep].cpu().numpy()
        results: list[list[Detection]] = [[] for _ in placements]
        for box, points, score, image in zip(rows_boxes, rows_landmarks, rows_scores, rows_image):
            if len(results[image]) >= self.config.top_k:
                continue
            scale, offset = (np.asarray(v) for v in placements[image])
            box = (box - np.tile(offset, 2)) / np.tile(scale, 2)
            points = (points - offset) / scale
            results[image].append(Detection.of(box, points, score))
        return results


def _resized(image: np.ndarray, scale: float) -> tuple[np.ndarray, tuple[float, float]]:
    """``image`` scaled by ``scale`` (cubic up, ``_shrunk`` down), and the exact (x, y)
    scale the rounding to whole pixels gave."""
    if scale == 1.0:
        return image, (1.0, 1.0)
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if scale < 1.0:
        return _shrunk(image, size)
    resized = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    return resized, (resized.shape[1] / width, resized.shape[0] / height)


def _shrunk(image: np.ndarray, size: tuple[int, int]
            ) -> tuple[np.ndarray, tuple[float, float]]:
    """``image`` shrunk to ``size`` (width, height), and its (x, y) scale.

    Halved by averaging 2 x 2 pixels while it stays at least twice ``size`` (an odd last
    row or column left out), then bilinear the rest of the way, less than 2x, where
    bilinear still weighs every pixel. The detector finds what it finds on area
    averaging all the way, faces a few pixels wide included, in a fraction of the time
    (docs/benchmarks.md).
    """
    height, width = image.shape[:2]
    span_x, span_y = float(width), float(height)  # the input pixels ``image`` covers
    while image.shape[1] >= 2 * size[0] and image.shape[0] >= 2 * size[1]:
        span_x *= image.shape[1] // 2 * 2 / image.shape[1]
        span_y *= image.shape[0] // 2 * 2 / image.shape[0]
        image = halved(image)
    shrunk = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    return shrunk, (size[0] / span_x, size[1] / span_y)


def _round_up(value: int, divisor: int) -> int:
    return max(divisor, -(-value // divisor) * divisor)
