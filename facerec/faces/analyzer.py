"""The pipeline: image -> detections -> aligned crops -> unit-length embeddings.

``FaceAnalyzer`` only wires the stages together; each stage lives in its own module.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import cast

import numpy as np
import torch

from facerec.errors import ModelError
from facerec.faces.align import align_faces
from facerec.faces.detector import DetectorConfig, DetectorNetwork, FaceDetector
from facerec.faces.embedder import EmbedderNetwork, FaceEmbedder
from facerec.faces.reading import decode_photos
from facerec.models.build import build_network
from facerec.models.device import select_device
from facerec.models.model_id import ModelId
from facerec.models.registry import (
    DEFAULT_DETECTOR,
    DEFAULT_EMBEDDER,
    ModelSpec,
    get_model,
)
from facerec.photos.image import ImageInput, load_image
from facerec.photos.photo import Photo
from facerec.photos.sideways import TURNS, best_turn, needs_turning, turn, turned_back
from facerec.types import Detection, Face

log = logging.getLogger(__name__)

PhotoInput = ImageInput | Photo
"""What the analyze methods take: any image input, or a ``Photo`` already decoded."""

MAX_FACES = 100
"""Most faces embedded per photo by default. Embedding is the cost that grows with the
faces (about 9 ms a face on two CPU cores, where detecting a whole photo takes 0.1-0.7 s):
a picture of a crowd with 800 faces would take 80 times a normal photo. A group or class
photo has far fewer; beyond the bound the largest faces are kept, those a name can be
given to with the most confidence."""


class FaceAnalyzer:
    """Detects, aligns and embeds faces with pretrained networks on one device.

    Args:
        device: ``None``/``"auto"`` (cuda, then mps, then cpu), or a device name.
        detector: registry name of the detector.
        embedder: registry name of the embedder.
        detector_config: detection thresholds and sizes.
        download: fetch missing weights (logged); otherwise a missing file raises
            ModelError saying how to fetch it.
        batch_size: crops per embedding forward pass.
        flip: embed each face mirrored too and average (see ``FaceEmbedder``).
        compile_detector: compile the detector for each input size it meets (slow first
            call per size, faster after; see ``facerec.models.compiled``).
        max_faces: most faces embedded per photo, the largest ones (``MAX_FACES``); the
            others are left out with a warning. ``None``: every face the detector keeps
            (``DetectorConfig.top_k``).
        int8: run the embedder in 8-bit integers on the CPU (``facerec.models.int8``),
            for an embedder with a calibration table (SFace); its embeddings stay in the
            float network's space (the same model id, 0.998 cosine to the float one's on
            average). ``None``: where it is the faster (``int8_by_default``: an x86 CPU
            with VNNI) for such an embedder on the CPU; ``True`` where it can run at all
            (ModelError elsewhere); ``False``: the float network.

    Images may be anything ``facerec.photos.image.load_image`` reads; numpy arrays are RGB.
    """

    def __init__(self, device: str | torch.device | None = None, *,
                 detector: str = DEFAULT_DETECTOR, embedder: str = DEFAULT_EMBEDDER,
                 detector_config: DetectorConfig = DetectorConfig(),
                 download: bool = False, batch_size: int = 16, flip: bool = False,
                 compile_detector: bool = False, max_faces: int | None = MAX_FACES,
                 int8: bool | None = None) -> None:
        if max_faces is not None and max_faces < 1:
            raise ValueError(f"max_faces must be at least 1, not {max_faces}")
        self.max_faces = max_faces
        self.device = select_device(device)
        self.detector_spec: ModelSpec = get_model(detector, "detector")
        self.embedder_spec: ModelSpec = get_model(embedder, "embedder")
        if self.embedder_spec.threshold is None:
            raise ModelError(f"{embedder} has no default threshold in the registry")
        self.detector = FaceDetector(cast(DetectorNetwork,
                                          build_network(detector, "detector", download)),
                                     self.device, detector_config, compile_detector)
        if self.embedder_spec.embedding_size is None:
            raise ModelError(f"{embedder} has no embedding size in the registry")
        net: torch.nn.Module | None = None
        if int8:
            net = self._in_8_bits(download)
        elif int8 is None and self._int8_by_default():
            try:
                net = self._in_8_bits(download)
            except Exception as exc:  # a PyTorch without what INT8 is built of
                log.warning("the 8-bit embedder cannot run here (%s); using float", exc)
        if net is None:
            net = build_network(embedder, "embedder", download)
        self.embedder = FaceEmbedder(cast(EmbedderNetwork, net), self.device,
                                     self.embedder_spec.embedding_size, batch_size, flip)
        self.crop_size = self.embedder_spec.input_size[0]
        template = self.embedder_spec.template
        self.template = None if template is None else torch.tensor(template, dtype=torch.float64)
        log.debug("FaceAnalyzer on %s", self.device)

    def _runs_sface_on_the_cpu(self) -> bool:
        from facerec.models.build import network_class
        from facerec.models.nets.sface import SFace

        return self.device.type == "cpu" and \
            issubclass(cast(type, network_class(self.embedder_spec)), SFace)

    def _int8_by_default(self) -> bool:
        from facerec.models.int8 import has_table, int8_by_default

        return (self._runs_sface_on_the_cpu() and has_table(self.embedder_spec.name)
                and int8_by_default())

    def _in_8_bits(self, download: bool) -> torch.nn.Module:
        from facerec.models.int8 import int8_sface

        if not self._runs_sface_on_the_cpu():
            raise ModelError(f"INT8 runs SFace on the CPU, not {self.embedder_spec.name} "
                             f"on {self.device}")
        return int8_sface(self.embedder_spec, download)

    @property
    def int8(self) -> bool:
        """Whether the embedder runs in 8-bit integers."""
        from facerec.models.int8 import Int8SFace

        return isinstance(self.embedder.net, Int8SFace)

    @property
    def threshold(self) -> float:
        """The model's default threshold: cosine similarity at or above which two faces
        are taken as the same person (``facerec.recognition.matching`` has the rule that
        names faces)."""
        return float(self.embedder_spec.threshold or 0.0)  # checked when built

    @property
    def model_id(self) -> str:
        """Identifies the embedding space, as a database stores it: embeddings of
        different ids never mix (``ModelId``; flip-averaged ones end in ``+flip``)."""
        return str(ModelId(self.embedder_spec.name, self.embedder.flip))

    def detect(self, image: PhotoInput) -> list[Detection]:
        """Faces in one image, best score first, in its own pixels."""
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[PhotoInput]) -> list[list[Detection]]:
        """Faces in each image, detected in one batched forward pass on the images
        read as ``analyze_batch`` reads them (a large one reduced), so both find the
        same faces; given in each image's own pixels."""
        photos = self._photos(images)
        found = self.detector.detect([photo.pixels for photo in photos])
        return [photo.placed(detections) for photo, detections in zip(photos, found)]

    def align(self, image: ImageInput, detections: Sequence[Detection]) -> torch.Tensor:
        """(N, 3, S, S) float32 RGB 0..255 crops aligned to the embedder's landmark
        template (ArcFace's for SFace), S the embedder's input size (112)."""
        return self._crops(load_image(image), detections)

    def face_picture(self, image: ImageInput, detection: Detection) -> np.ndarray:
        """(S, S, 3) uint8 RGB: one face aligned as the embedder sees it, for pictures."""
        aligned = self.align(image, [detection])[0]
        return aligned.permute(1, 2, 0).clamp(0, 255).byte().cpu().numpy()

    def embed(self, image: ImageInput, detections: Sequence[Detection]) -> np.ndarray:
        """(N, D) float32 unit-length embeddings of the given faces of ``image``."""
        return self.embed_crops(self.align(image, detections))

    def embed_crops(self, crops: torch.Tensor) -> np.ndarray:
        """(N, D) float32 unit-length embeddings of aligned (N, 3, S, S) crops, S the
        analyzer's ``crop_size`` (112 for SFace, 150 for dlib's ResNet)."""
        return self.embedder.embed(crops).cpu().numpy()

    def analyze(self, image: PhotoInput) -> list[Face]:
        """Every face of one image with its embedding, best detection score first (at
        most ``max_faces``, the largest); see ``analyze_batch``."""
        return self.analyze_batch([image])[0]

    def analyze_batch(self, images: Sequence[PhotoInput]) -> list[list[Face]]:
        """Every face of every image; detection and embedding each run batched.

        Files and encoded bytes are read as the commands read them
        (``facerec.faces.reading.decode_photos``: on threads, a large JPEG decoded
        reduced to the detector's working size); decoded pixels at least twice that size
        are halved alike (``facerec.photos.photo.reduced_for_detection``), so a photo
        gives the same faces whether passed as a file or as pixels (a ``FullPhoto`` is
        taken as it is). A ``ReducedPhoto`` is detected on its reduced copy; its faces
        are given in the photo's own pixels and embedded from the full photo when the
        copy shows one smaller than the embedder's crop (see ``facerec.photos.photo``).

        Raises:
            ImageError: an image cannot be read (the first, in order).
        """
        photos = self._photos(images)
        return self._embedded(photos, self.detector.detect([p.pixels for p in photos]))

    def _photos(self, images: Sequence[PhotoInput]) -> list[Photo]:
        return decode_photos(images, self.detector.config.max_side)

    def analyze_batch_upright(self, images: Sequence[PhotoInput], upright: Sequence[bool]
                              ) -> list[tuple[list[Face], int]]:
        """Every face of every image and the turn it was found at: the images analysed
        in one batch (``analyze_batch``), and each one ``upright`` asks for looked at
        turned when its faces say it may be on its side (``analyze_upright``)."""
        photos = self._photos(images)
        return [self.analyze_upright(photo, faces) if wanted else (faces, 0)
                for photo, faces, wanted in zip(photos, self.analyze_batch(photos), upright)]

    def analyze_upright(self, image: PhotoInput, faces: Sequence[Face] | None = None
                        ) -> tuple[list[Face], int]:
        """Every face of a photo that may be on its side (see ``facerec.photos.sideways``), and the
        turn, in degrees counterclockwise, it was found at (0: as it is).

        ``faces`` are the photo's faces as it is (computed when None). When there are none,
        or the best scores under ``TURN_BELOW`` (a face on its side or upside down is
        often found, but weakly, and embeds badly), the photo is detected turned by 90,
        180 and 270 degrees in one batch, and the orientation whose best face scores
        highest wins; its faces are embedded upright and given in the photo's own pixels.
        """
        photo = self._photos([image])[0]
        faces = list(self.analyze(photo) if faces is None else faces)
        if not needs_turning([f.detection for f in faces]):
            return faces, 0
        turned = [turn(photo.pixels, degrees) for degrees in TURNS]
        found = self.detector.detect(turned)
        winner = best_turn([f.detection for f in faces], found)
        if winner is None:
            return faces, 0
        degrees = TURNS[winner]
        view = photo.turn(degrees, turned[winner])
        width, height = photo.size
        return [Face(turned_back(f.detection, degrees, width, height), f.embedding)
                for f in self._embedded([view], [found[winner]])[0]], degrees

    def _embedded(self, photos: Sequence[Photo],
                  detections: Sequence[list[Detection]]) -> list[list[Face]]:
        """The faces of each photo embedded in one batch; ``detections`` are in the
        coordinates of the pixels they were found in (a reduced copy's for a
        ``ReducedPhoto``), the faces come back in the photo's own."""
        crops, placed = [], []
        for photo, dets in zip(photos, detections):
            dets = self._bounded(photo, dets)
            source, at_source, in_photo = photo.crops(dets, self.crop_size)
            crops.append(self._crops(source, at_source))
            placed.append(in_photo)
        if not any(placed):
            return [[] for _ in photos]
        embeddings = iter(self.embed_crops(torch.cat(crops)))
        return [[Face(d, next(embeddings)) for d in dets] for dets in placed]

    def _bounded(self, photo: Photo, detections: list[Detection]
                 ) -> list[Detection]:
        """At most ``max_faces`` of a photo's detections, the largest, in their order."""
        if self.max_faces is None or len(detections) <= self.max_faces:
            return detections
        kept = largest(detections, self.max_faces)
        log.warning("%s: %d faces found, the %d largest analysed; %d left out "
                    "(--max-faces sets the bound)", photo.name, len(detections), len(kept),
                    len(detections) - len(kept))
        return kept

    def _crops(self, pixels: np.ndarray, detections: Sequence[Detection]) -> torch.Tensor:
        points = torch.tensor([d.landmarks for d in detections],
                              dtype=torch.float64).reshape(-1, 5, 2)
        return align_faces(torch.from_numpy(pixels).to(self.device), points, self.crop_size,
                           self.template)


def largest(detections: Sequence[Detection], count: int) -> list[Detection]:
    """The ``count`` largest of ``detections`` by box area, in the order given."""
    by_area = sorted(range(len(detections)),
                     key=lambda i: detections[i].area, reverse=True)
    return [detections[i] for i in sorted(by_area[:count])]


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings (for unit vectors, their dot product)."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))
