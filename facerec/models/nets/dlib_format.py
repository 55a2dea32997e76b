"""Reading a network saved by dlib's deep learning toolkit, with numpy and nothing else.

dlib writes a network (``dlib::serialize(net)``) in its own binary format. Integers are
packed: a control byte giving the number of bytes that follow (high bit set for a negative
value), then the value's bytes, least significant first. A floating-point number is two
packed integers, a mantissa and a base-2 exponent. A string is its packed length and its
bytes; a bool the character ``'0'`` or ``'1'``. A tensor is a packed version (2), its
four dimensions (samples, channels, rows, columns) and that many little-endian float32s.

The file holds the loss layer's settings, the nesting of the layers, the input layer, and
then each computational layer from the input upwards: its type (a versioned name such as
``con_4``), its settings and parameters, three bools and three working tensors that are
empty in a saved network. Layers that only route data (tags, skips) leave nothing there,
so the reader yields the computational layers in order and the network that loads them
knows where its shortcuts go. Nothing in the file is executed; an unknown layer type is
an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facerec.errors import ModelError


@dataclass(frozen=True)
class DlibLayer:
    """One computational layer as saved.

    Attributes:
        kind: the layer type without its version (``"con"``, ``"affine"``, ``"relu"``,
            ``"max_pool"``, ``"avg_pool"``, ``"add_prev"``, ``"fc"``, ``"input_rgb_image"``).
        settings: the integer and real settings by name (``num_filters``, ``stride_y``...).
        params: the layer's parameters as one flat float32 array (empty if it has none).
    """

    kind: str
    settings: dict[str, float] = field(default_factory=dict)
    params: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


class _Reader:
    """Sequential reads of dlib's primitive types from a byte string."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def _take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise ModelError(f"dlib file ends early at byte {self.pos}")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def integer(self) -> int:
        control = self._take(1)[0]
        size, negative = control & 0x0F, bool(control & 0x80)
        if size > 8:
            raise ModelError(f"not a dlib integer at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if negative else value

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        return float(np.ldexp(float(mantissa), exponent))

    def boolean(self) -> bool:
        char = self._take(1)
        if char not in (b"0", b"1"):
            raise ModelError(f"not a dlib bool at byte {self.pos - 1}")
        return char == b"1"

    def string(self) -> str:
        length = self.integer()
        if not 0 <= length < 256:
            raise ModelError(f"not a dlib layer name at byte {self.pos}")
        return self._take(length).decode("ascii")

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise ModelError(f"unsupported dlib tensor version {version} at byte {self.pos}")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self._take(4 * count), dtype="<f4")
        return values.astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, ...]:
        """An alias tensor (a view into a layer's parameters): its shape."""
        self.integer()  # version
        return tuple(self.integer() for _ in range(4))


def _pool(reader: _Reader) -> dict[str, float]:
    names = ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    return {name: reader.integer() for name in names}


def _con(reader: _Reader) -> tuple[dict[str, float], np.ndarray]:
    params = reader.tensor()
    names = ("num_filters", "nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    settings: dict[str, float] = {name: reader.integer() for name in names}
    reader.alias()
    reader.alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        reader.real()
    return settings, params


def _affine(reader: _Reader) -> tuple[dict[str, float], np.ndarray]:
    params = reader.tensor()
    reader.alias()
    reader.alias()
    return {"mode": reader.integer()}, params


def _fc(reader: _Reader) -> tuple[dict[str, float], np.ndarray]:
    settings: dict[str, float] = {"num_outputs": reader.integer(),
                                  "num_inputs": reader.integer()}
    params = reader.tensor()
    reader.alias()
    reader.alias()
    settings["bias_mode"] = reader.integer()
    for _ in range(4):
        reader.real()
    return settings, params


_NO_PARAMS = {"relu_": "relu", "add_prev_": "add_prev"}
_POOLS = {"max_pool_2": "max_pool", "avg_pool_2": "avg_pool"}
_WITH_PARAMS = {"con_4": ("con", _con), "con_5": ("con", _con),
                "affine_": ("affine", _affine), "fc_2": ("fc", _fc)}


def _layer(reader: _Reader, version: str) -> DlibLayer:
    if version in _NO_PARAMS:
        return DlibLayer(_NO_PARAMS[version])
    if version in _POOLS:
        return DlibLayer(_POOLS[version], _pool(reader))
    if version in _WITH_PARAMS:
        kind, read = _WITH_PARAMS[version]
        settings, params = read(reader)
        if version == "con_5":
            settings["use_bias"] = reader.boolean()
        return DlibLayer(kind, settings, params.reshape(-1))
    raise ModelError(f"unsupported dlib layer {version!r}")


_INPUT = "input_rgb_image_sized"
_INPUT_HEADER = bytes([1, len(_INPUT)]) + _INPUT.encode()


def read_layers(path: Path) -> Iterator[DlibLayer]:
    """The computational layers of a dlib network file, from the input upwards.

    The first item is the input layer (kind ``"input_rgb_image"``, settings ``avg_red``,
    ``avg_green``, ``avg_blue``, ``nr``, ``nc``); the loss layer's settings are not kept.

    Raises:
        ModelError: the file is not a dlib network of the supported layer types.
    """
    reader = _Reader(Path(path).read_bytes())
    reader.integer()  # the loss layer's version
    if reader.string() != "loss_metric_2":
        raise ModelError(f"{path} is not a dlib metric-learning network")
    reader.real()  # margin
    reader.real()  # distance threshold
    while reader.data[reader.pos:reader.pos + len(_INPUT_HEADER)] != _INPUT_HEADER:
        if reader.integer() not in (1, 2, 3):  # each nested layer's format version
            raise ModelError(f"{path}: unexpected layer nesting at byte {reader.pos}")
    reader.string()
    settings = {name: reader.real() for name in ("avg_red", "avg_green", "avg_blue")}
    settings.update(nr=reader.integer(), nc=reader.integer())
    yield DlibLayer("input_rgb_image", settings)
    first = True
    while not reader.at_end():
        yield _layer(reader, reader.string())
        for _ in range(3):  # setup-called, gradient-stale, outputs-disabled
            reader.boolean()
        for _ in range(3):  # gradient, cached output, parameter gradient: empty
            reader.tensor()
        if first:  # the layer on the input also records the input's sample expansion
            reader.integer()
            first = False
