"""Shared fixtures.

Weights and sample photos are installed by ``.ci/run`` (``facerec models fetch``,
``facerec samples``); tests that need them skip locally when they are absent, and fail
under CI (``CI=true``), where their absence is a broken install. ``../shared/faces``
is optional everywhere: tests that read it skip with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres import Postgres, running_postgres

from facerec.models import weights
from facerec.models.registry import DLIB_RESNET, SFACE, W600K_MBF, YUNET
from facerec.photos.samples import default_dir, missing

REPO = Path(__file__).resolve().parent.parent
SHARED_FACES = Path(os.environ.get("FACEREC_SHARED_FACES", REPO.parent / "shared" / "faces"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI installs it: see .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def model_paths() -> dict[str, Path]:
    paths = {}
    for spec in (YUNET, SFACE):
        state = weights.status(spec)
        if state.state != "ready":
            _unavailable(f"weights of {spec.name} are {state.state}; run `facerec models fetch`")
        paths[spec.name] = state.path
    return paths


@pytest.fixture(scope="session")
def mbf_path() -> Path:
    """The non-commercial w600k_mbf weights, fetched for the tests by ``setup.sh --test``
    (with the licence accepted for testing only)."""
    state = weights.status(W600K_MBF)
    if state.state != "ready":
        _unavailable(f"weights of {W600K_MBF.name} are {state.state}; run "
                     f"`facerec models fetch {W600K_MBF.name} --accept-license`")
    return state.path


@pytest.fixture(scope="session")
def dlib_path() -> Path:
    """dlib's face recognition ResNet weights (CC0), fetched by ``facerec models fetch``."""
    state = weights.status(DLIB_RESNET)
    if state.state != "ready":
        _unavailable(f"weights of {DLIB_RESNET.name} are {state.state}; run "
                     f"`facerec models fetch {DLIB_RESNET.name}`")
    return state.path


@pytest.fixture(scope="session")
def dlib_module():
    """dlib itself (the ``dlib-bin`` wheel), a test dependency for parity checks only."""
    try:
        import dlib
    except ImportError:
        _unavailable("dlib is not installed; `pip install -e .[test]` installs dlib-bin")
    return dlib


@pytest.fixture(scope="session")
def analyzer(model_paths):
    from facerec import FaceAnalyzer
    return FaceAnalyzer("cpu")


@pytest.fixture(scope="session")
def samples() -> Path:
    folder = default_dir()
    if missing(folder):
        _unavailable(f"sample photos missing from {folder}; run `facerec samples`")
    return folder


@pytest.fixture(scope="session")
def shared_faces() -> Path:
    if not (SHARED_FACES / "README.md").is_file():
        pytest.skip(f"real face photos not found at {SHARED_FACES} "
                    "(set FACEREC_SHARED_FACES to the faces folder)")
    return SHARED_FACES


@pytest.fixture(scope="session")
def real_photos(samples) -> list[Path]:
    """The sample photos, plus the uncropped photos of ``../shared/faces`` when present."""
    paths = sorted(samples.glob("*.jpg")) + sorted(samples.glob("*.png"))
    if (SHARED_FACES / "photos").is_dir():
        paths += sorted((SHARED_FACES / "photos").glob("*.jpg"))
    return paths


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL on loopback for the session (tests/postgres.py); skips with the
    reason where the server or psycopg is missing."""
    with running_postgres() as server:
        yield server
