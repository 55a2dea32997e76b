"""Building a network from its registry entry, with verified weights.

The published weights come as ONNX files; turning 39 MB of ONNX into tensors takes
seconds. The first build of a model therefore writes a prepared copy of its tensors in
the safetensors format (no pickle, nothing executed on load) under the cache's
``prepared/`` folder, named after the source file's sha256, with a note of the copy's own
digest. Later builds read that copy: a few milliseconds, hashed again only when the file
changes (``weights.has_digest``). A copy that fails its check is made again from the
verified ONNX file.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable
from itertools import chain
from pathlib import Path
from typing import Protocol

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from facerec.errors import ModelError
from facerec.formats.files import atomic_write
from facerec.models.registry import ModelSpec, Role, get_model
from facerec.models.weights import cache_dir, has_digest, sha256_of, weights_path

log = logging.getLogger(__name__)


class Network(Protocol):
    """What a registry entry's ``network`` class provides to be built: the architecture
    from the entry, and the weights file's tensors by parameter name. Once built, a
    network has ``for_inference()``; a detector also ``divisor`` and ``decode`` (see
    ``facerec.faces.detector.DetectorNetwork``), an embedder maps (N, 3, H, W) crops to (N, D)."""

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> torch.nn.Module: ...

    @staticmethod
    def state_from_file(path: Path, spec: ModelSpec) -> dict[str, torch.Tensor]: ...


def network_class(spec: ModelSpec) -> type[Network]:
    """The class named by ``spec.network`` (``"module:Class"``)."""
    module_name, _, class_name = spec.network.partition(":")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ModelError(f"{spec.name}: network {spec.network!r} not found ({exc})") from None


def build_network(name: str, role: Role, download: bool = False,
                  leave_out: Callable[[str], bool] | None = None) -> torch.nn.Module:
    """The network of registry entry ``name`` with its verified weights, in eval mode.

    Args:
        name: registry name.
        role: the role the caller needs; an entry of another role raises ModelError.
        download: fetch missing weights (see ``weights.weights_path``).
        leave_out: which tensors, by name, not to read: they stay on PyTorch's meta
            device, without values, for a caller that replaces the layers holding them
            (``facerec.models.int8``). Every other tensor must come from the file.
    """
    spec = get_model(name, role)
    with torch.device("meta"):  # no random initialisation: every tensor comes from the file
        net = network_class(spec).from_spec(spec)
    try:
        unexpected = net.load_state_dict(prepared_state(spec, download, leave_out),
                                         strict=False, assign=True).unexpected_keys
    except RuntimeError as exc:
        raise ModelError(f"the weights of {spec.name} do not fit {spec.network}: {exc}") \
            from None
    if unexpected:
        raise ModelError(f"the weights of {spec.name} hold tensors {spec.network} does not "
                         f"have: {', '.join(unexpected)}")
    unfilled = [key for key, tensor in chain(net.named_parameters(), net.named_buffers())
                if tensor.is_meta and not (leave_out and leave_out(key))]
    if unfilled:
        raise ModelError(f"{spec.network} holds tensors its weights file does not give: "
                         f"{', '.join(unfilled)}")
    return net.eval()


def prepared_state(spec: ModelSpec, download: bool = False,
                   leave_out: Callable[[str], bool] | None = None) -> dict[str, torch.Tensor]:
    """``spec``'s tensors by parameter name, from the prepared copy (made if needed);
    those ``leave_out`` names are not read."""
    target = prepared_path(spec)
    state = read_prepared(target, leave_out)
    if state is not None:
        return state
    source = weights_path(spec, download)
    state = network_class(spec).state_from_file(source, spec)
    write_prepared(target, state, spec)
    return {key: tensor for key, tensor in state.items() if not (leave_out and leave_out(key))}


def prepared_path(spec: ModelSpec, variant: str = "") -> Path:
    """Where the prepared copy of ``spec``'s tensors is kept; ``variant`` names a form
    derived from them (``facerec.models.int8`` keeps its 8-bit weights so)."""
    suffix = f".{variant}" if variant else ""
    return cache_dir() / "prepared" / f"{spec.name}-{spec.sha256[:16]}{suffix}.safetensors"


def read_prepared(target: Path, leave_out: Callable[[str], bool] | None = None
                  ) -> dict[str, torch.Tensor] | None:
    """The tensors of a prepared copy that passes its check, but those ``leave_out``
    names, or None (no copy, or one that fails its check or cannot be read: the caller
    makes it again). A tensor left out is never read from the disk."""
    note = target.with_suffix(".json")
    try:
        recorded = json.loads(note.read_text())["sha256"]
        if not has_digest(target, recorded):
            log.warning("prepared weights %s fail their check; making them again", target)
            return None
        # copied out of the mapped file: a network holds its tensors for the life of the
        # process, and a mapped file cut short under it would crash it at the next read
        return {key: tensor.clone() for key, tensor in load_file(target).items()
                if not (leave_out and leave_out(key))}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        log.warning("prepared weights %s unusable (%s); making them again", target, exc)
        return None


def write_prepared(target: Path, state: dict[str, torch.Tensor], spec: ModelSpec) -> None:
    """Keep ``state`` at ``target`` with a note of its digest; a cache that cannot be
    written is left as it is (the next start makes the tensors again)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tensors = {key: value.contiguous() for key, value in state.items()}
        atomic_write(target, save(tensors, metadata={"model": spec.name,
                                                     "source_sha256": spec.sha256}))
        atomic_write(target.with_suffix(".json"),
                     json.dumps({"sha256": sha256_of(target), "model": spec.name}).encode())
    except OSError as exc:  # a read-only cache still works, only slower to start
        log.debug("could not keep prepared weights at %s: %s", target, exc)
