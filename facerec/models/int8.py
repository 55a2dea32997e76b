"""INT8 SFace for the CPU: the embedder's pointwise convolutions but the first, and its
fully connected layer, in 8-bit integers, on PyTorch's FBGEMM quantized engine.

Static quantization: each layer's weights per output channel (symmetric, from the
weights themselves), and each layer's input and output on a fixed scale measured once on
real aligned faces (``scripts/calibrate_int8.py`` over ``../shared/faces``; the table,
``facerec/models/calibration/<model>.int8.json``, holds only those scales).

What stays in float32, and why (measured on 64 LFW faces, 2-core x86 CPU with VNNI):
PReLU, because PyTorch's quantized PReLU gives wrong values (off by up to 7 on inputs
within +-9; the embeddings of a network using it were unrelated to the float one's), so
each quantized layer takes float in and gives float out; and the depthwise 3x3
convolutions and the stem, which are a small share of the work: quantizing them too cost
accuracy (cosine to the float embedding 0.9932 on average, 0.987 at worst, against
0.9977 and 0.995) for no speed (7.9 against 8.5 ms a face alone, 46 against 40 ms for
eight); and the first pointwise convolution (``FLOAT_POINTWISE``), whose 32-channel input
covers the whole 112 x 112 crop: quantizing that map and dequantizing the 64-channel one
it gives cost more than its integer arithmetic saves (eight faces: 0.98 against 0.39 ms a
face for the layer with its PReLU; one: 0.75 against 0.56). The feature BatchNorm before
the fully connected layer is folded into it.

Built straight from the float network and the table, without tracing: the first time,
each layer's weights are folded and quantized and the result kept in the weights cache
(``int8_sface``); after that only the layers kept in float are folded and each 8-bit
layer's weights packed once for FBGEMM. ``scripts/evaluate_lfw.py --int8``,
``scripts/benchmark_open_set.py --int8`` and ``scripts/benchmark_photos.py --precision``
measure what it changes (docs/models.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from facerec.errors import ModelError
from facerec.models.build import build_network, prepared_path, read_prepared, write_prepared
from facerec.models.nets.sface import ConvBNPReLU, DepthwiseSeparable, SFace

if TYPE_CHECKING:
    from facerec.models.registry import ModelSpec

log = logging.getLogger(__name__)

ENGINE = "fbgemm"
"""FBGEMM rather than PyTorch's "x86" engine, which hands some shapes and memory layouts
to oneDNN: there a face's embedding changed with what it was batched with (by up to
0.003 on a real face: a phone photo analysed alone and beside itself, the check in
tests/test_reduced.py that found it; 0.015 on noise), where FBGEMM gave the same bits,
at about 20% more time (9.3 against 7.4 ms a face, 70 against 63 ms for eight)."""

# PyTorch marks its quantized tensors deprecated (pytorch/pytorch#184982) and says so on
# first use; they are what this module is built of, and a user can do nothing about it.
# Should they go, the analyzer falls back to the float network (FaceAnalyzer).
warnings.filterwarnings("ignore", category=UserWarning,
                        message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel")

TABLES = Path(__file__).resolve().parent / "calibration"
"""Where the calibration tables live (``<model name>.int8.json``), shipped with facerec."""


def int8_available() -> bool:
    """Whether this machine runs PyTorch's FBGEMM quantized engine (an x86-64 CPU and a
    build with the engine)."""
    return (platform.machine().lower() in ("x86_64", "amd64")
            and ENGINE in torch.backends.quantized.supported_engines)


def int8_by_default() -> bool:
    """Whether INT8 is the default here: the engine runs, and the CPU multiplies 8-bit
    numbers into 32-bit sums in one instruction (VNNI: ``avx512_vnni`` or ``avx_vnni``
    in Linux's CPU flags). There the full 8-bit range the tables are measured for is
    exact and faster; without VNNI the kernels' 16-bit intermediate sums may saturate, so
    INT8 is only taken when asked for. Elsewhere than Linux the flags are not read and
    the float network stays the default."""
    if not int8_available():
        return False
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines()
                  if line.startswith("flags")), [])
    return "avx512_vnni" in flags or "avx_vnni" in flags


def has_table(model: str) -> bool:
    """Whether ``model`` has an INT8 calibration table (SFace does)."""
    return table_path(model).is_file()


@dataclass(frozen=True)
class Scale:
    """How a tensor is held in unsigned 8 bits: ``(q - zero_point) * scale``."""

    scale: float
    zero_point: int


def table_path(model: str) -> Path:
    return TABLES / f"{model}.int8.json"


def read_table(model: str) -> dict[str, tuple[Scale, Scale]]:
    """Each quantized layer's (input, output) scales, by module name.

    Raises:
        ModelError: no table for ``model``, or one that cannot be read.
    """
    path = table_path(model)
    try:
        layers = json.loads(path.read_text(encoding="utf-8"))["layers"]
        return {name: (Scale(*pair["input"]), Scale(*pair["output"]))
                for name, pair in layers.items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{model}: no INT8 calibration table at {path} ({exc})") from None


def write_table(model: str, layers: dict[str, tuple[Scale, Scale]], source: str) -> Path:
    """Write ``model``'s table (``scripts/calibrate_int8.py``); returns its path."""
    path = table_path(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = json.dumps({"model": model, "calibrated_on": source})
    rows = ",\n".join(f'  {json.dumps(name)}: {{"input": [{i.scale!r}, {i.zero_point}], '
                      f'"output": [{o.scale!r}, {o.zero_point}]}}'
                      for name, (i, o) in layers.items())
    path.write_text(f'{head[:-1]}, "layers": {{\n{rows}\n}}}}\n', encoding="utf-8")
    json.loads(path.read_text(encoding="utf-8"))  # one layer a line, still JSON
    return path


class QuantizedLayer(nn.Module):
    """One convolution or linear layer in 8 bits, float in and float out: its input
    quantized at the calibrated scale, the integer kernel on the weights packed once for
    it, the output dequantized.

    Args:
        weight: the layer's weights, quantized per output channel (as ``quantized_state``
            keeps them).
        bias: (out,) float32.
        scales: (input, output) scales from the calibration table.
        conv: for a convolution, the float ``nn.Conv2d`` whose stride, padding, dilation
            and groups it takes (its weights are not read); None for a linear layer.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, scales: tuple[Scale, Scale],
                 conv: nn.Conv2d | None = None) -> None:
        super().__init__()
        self.source, self.target = scales
        self.conv = conv is not None
        if conv is not None:
            self.packed = torch.ops.quantized.conv2d_prepack(
                weight, bias, list(conv.stride), list(cast(tuple[int, int], conv.padding)),
                list(conv.dilation), conv.groups)
        else:
            self.packed = torch.ops.quantized.linear_prepack(weight, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = torch.quantize_per_tensor(x, self.source.scale, self.source.zero_point,
                                      torch.quint8)
        kernel = torch.ops.quantized.conv2d if self.conv else torch.ops.quantized.linear
        return kernel(q, self.packed, self.target.scale, self.target.zero_point).dequantize()

    def weight(self) -> torch.Tensor:
        """The layer's 8-bit weights, unpacked (for checks)."""
        unpack = torch.ops.quantized.conv2d_unpack if self.conv \
            else torch.ops.quantized.linear_unpack
        return unpack(self.packed)[0]


def _per_channel(weight: torch.Tensor) -> torch.Tensor:
    """Symmetric per-output-channel int8 weights (the largest magnitude at 127.5)."""
    flat = weight.detach().float().reshape(weight.shape[0], -1)
    scales = (flat.abs().amax(dim=1) / 127.5).clamp(min=1e-12).double()
    return torch.quantize_per_channel(weight.detach().float(), scales,
                                      torch.zeros_like(scales, dtype=torch.long), 0,
                                      torch.qint8)


def _bias(layer: nn.Conv2d | nn.Linear) -> torch.Tensor:
    if layer.bias is None:
        return torch.zeros(layer.weight.shape[0])
    return layer.bias.detach().float()


class Int8SFace(nn.Module):
    """SFace with its layers in 8 bits (see the module docstring); the same input and
    output as ``SFace``: (N, 3, H, W) float RGB 0..255 aligned faces, (N, D) embeddings
    not normalised.

    Args:
        net: the float network (eval mode, BatchNorms folded or not); the units kept in
            float are taken from it and folded, the others are not read.
        scales: the calibration table (``read_table``).
        weights: the quantized layers' weights (``quantized_state``).
    """

    def __init__(self, net: SFace, scales: dict[str, tuple[Scale, Scale]],
                 weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.input_size = net.input_size
        self.mean, self.scale = net.mean, net.scale
        quantized = {name for name, _ in quantized_units(net)}
        units: list[nn.Module] = []
        for name, module in conv_units(net):
            if name not in quantized:  # depthwise and the stem stay in float
                module.fuse()
                units.append(module)
            else:
                units.append(nn.Sequential(_layer(name, weights, scales, module.conv),
                                           module.prelu))
        self.units = nn.Sequential(*units)
        self.fc = _layer("fc", weights, scales)

    def for_inference(self) -> Int8SFace:
        """Already ready for inference; returns self (``FaceEmbedder`` calls it)."""
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.units((x - self.mean) * self.scale)
        return self.fc(x.flatten(1))


def _layer(name: str, weights: dict[str, torch.Tensor], scales: dict[str, tuple[Scale, Scale]],
           conv: nn.Conv2d | None = None) -> QuantizedLayer:
    if name not in scales:
        raise ModelError(f"the INT8 table has no scales for {name}")
    try:  # the kept integers and scales as a quantized tensor, without quantizing again
        weight = torch._make_per_channel_quantized_tensor(
            weights[f"{name}.weight"], weights[f"{name}.scales"],
            torch.zeros_like(weights[f"{name}.scales"], dtype=torch.long), 0)
        return QuantizedLayer(weight, weights[f"{name}.bias"], scales[name], conv)
    # AttributeError: a PyTorch without that private function
    except (KeyError, RuntimeError, AttributeError) as exc:
        raise ModelError(f"the 8-bit weights of {name} are unusable ({exc})") from None


def conv_units(net: SFace) -> list[tuple[str, ConvBNPReLU]]:
    """The network's convolution-PReLU units in order, by module name (``stem``,
    ``units.0.dw``, ``units.0.pw``, ...)."""
    found = [("stem", net.stem)]
    for index, unit in enumerate(net.units):
        assert isinstance(unit, DepthwiseSeparable)
        found += [(f"units.{index}.dw", unit.dw), (f"units.{index}.pw", unit.pw)]
    return found


def fold_feature_bn(net: SFace) -> nn.Linear:
    """The fully connected layer with the feature BatchNorm before it folded in:
    fc(bn(x)) for the (N, C, H, W) map x flattened, as one linear layer."""
    bn, fc = net.features_bn, net.fc
    if not isinstance(bn, nn.BatchNorm2d) or bn.running_var is None \
            or bn.running_mean is None:
        raise ModelError("SFace's feature BatchNorm is not a BatchNorm2d with statistics")
    gain = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    shift = (bn.bias - bn.running_mean * gain).detach()
    cells = fc.in_features // gain.numel()
    folded = nn.Linear(fc.in_features, fc.out_features, device="meta")  # not initialised
    with torch.no_grad():
        folded.weight = nn.Parameter(fc.weight * gain.repeat_interleave(cells))
        folded.bias = nn.Parameter(fc.bias + fc.weight @ shift.repeat_interleave(cells))
    return folded


FLOAT_POINTWISE = frozenset({"units.0.pw"})
"""Pointwise units kept in float: the first, over the largest map (32 channels at the
crop's full 112 x 112), where quantizing its input and dequantizing its output cost more
than the integer arithmetic saves (see the module docstring)."""


def quantized_units(net: SFace) -> list[tuple[str, ConvBNPReLU]]:
    """The units whose convolution runs in 8 bits: the pointwise ones but
    ``FLOAT_POINTWISE``."""
    return [(name, unit) for name, unit in conv_units(net)
            if name.endswith(".pw") and name not in FLOAT_POINTWISE]


def quantized_state(net: SFace) -> dict[str, torch.Tensor]:
    """The 8-bit layers' weights made from ``net`` (its BatchNorms folded here): for each
    quantized unit and ``fc``, ``<name>.weight`` (out, ...) int8, ``<name>.scales``
    (out,) float64 (weight = int8 * scale) and ``<name>.bias`` (out,) float32."""
    net.fuse()
    layers: dict[str, nn.Conv2d | nn.Linear] = {
        name: unit.conv for name, unit in quantized_units(net)}
    layers["fc"] = fold_feature_bn(net)
    state: dict[str, torch.Tensor] = {}
    for name, layer in layers.items():
        weight = _per_channel(layer.weight)
        state[f"{name}.weight"] = weight.int_repr()
        state[f"{name}.scales"] = weight.q_per_channel_scales()
        state[f"{name}.bias"] = _bias(layer)
    return state


STATE_FORMAT = 2
"""Part of the kept 8-bit weights' name: changed when ``quantized_state`` makes other
tensors, so an older copy is not read as a newer one."""


def replaced(key: str) -> bool:
    """Whether the float network's tensor ``key`` (a ``state_dict`` name) belongs to a
    layer the 8-bit network replaces: a quantized pointwise unit's convolution or
    BatchNorm (not its PReLU), the feature BatchNorm, the fully connected layer, the
    embedding BatchNorm. Built from kept 8-bit weights, ``Int8SFace`` reads none of them."""
    unit, _, rest = key.partition(".pw.")
    if rest:
        return (unit.startswith("units.") and f"{unit}.pw" not in FLOAT_POINTWISE
                and rest.startswith(("conv.", "bn.")))
    return key.split(".", 1)[0] in ("features_bn", "fc", "embedding_bn")


def variant(model: str) -> str:
    """Names the 8-bit network of ``model`` made from its float weights: the layout of
    its weights (``STATE_FORMAT``) and the calibration table's digest. The kept weights
    are named after it, and so may anything else kept from its output."""
    table = hashlib.sha256(table_path(model).read_bytes()).hexdigest()
    return f"int8-v{STATE_FORMAT}-{table[:12]}"


def int8_sface(spec: ModelSpec, download: bool = False) -> Int8SFace:
    """The SFace of registry entry ``spec`` in 8 bits, with its calibration table.

    The 8-bit weights are kept in the weights cache beside the float ones' prepared copy
    (``facerec.models.build``), named after the float file's and the table's digests and
    checked as that copy is. The first build quantizes them from the float network; a
    later one reads them and builds the float network without the tensors they replace
    (``replaced``): nothing folded or quantized, and 34 of SFace's 37 MB never read.

    Raises:
        ModelError: the machine has no FBGEMM engine, no table for ``spec``, or 8-bit
            weights made afresh do not fit (kept ones that do not are made again).
    """
    if not int8_available():
        raise ModelError("INT8 needs an x86-64 CPU and PyTorch's FBGEMM quantized engine")
    torch.backends.quantized.engine = ENGINE
    scales = read_table(spec.name)
    kept = prepared_path(spec, variant(spec.name))
    weights = read_prepared(kept)
    if weights is not None:
        try:
            net = cast(SFace, build_network(spec.name, "embedder", download,
                                            leave_out=replaced))
            return Int8SFace(net, scales, weights).eval()
        except ModelError as exc:
            log.warning("the kept 8-bit weights %s are unusable (%s); making them again",
                        kept, exc)
    net = cast(SFace, build_network(spec.name, "embedder", download))
    weights = quantized_state(net)
    write_prepared(kept, weights, spec)
    return Int8SFace(net, scales, weights).eval()
