"""Sample photos for the demo and the tests on a fresh clone.

Public-domain photos of Barack Obama and Joe Biden ship in the source distribution of
``face_recognition==1.3.0`` on the Python package index; they are fetched with pip's
downloader, checked against the sha256 digests below, and written to ``data/samples``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from facerec.errors import FacerecError
from facerec.models.fetch import extract_member, pip_download
from facerec.models.weights import sha256_of

log = logging.getLogger(__name__)

REQUIREMENT = "face_recognition==1.3.0"
PREFIX = "face_recognition-1.3.0/tests/test_images/"
SAMPLES: dict[str, str] = {
    "obama.jpg": "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
    "obama2.jpg": "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
    "obama3.jpg": "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3",
    "biden.jpg": "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c",
    "32bit.png": "44dca895a7d635a4aedddd91a4f37af9a8a5b44e66154282a24645a757b5f627",
    "obama_partial_face.jpg": "c2d1f09e7ef3042352b41e41286e6eb0522f64f88308be13886991b95db52117",
    "obama_partial_face2.jpg": "9a812347f97633542b8cd9992de22def11b74f79d82056bc3ee830f13878e028",
}


def default_dir() -> Path:
    """``data/samples`` of a source checkout, else under the user's cache folder."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "data" / "samples"
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "facerec" / "samples"


def missing(dest: Path) -> list[str]:
    """Names of the sample files absent from ``dest`` or failing their sha256."""
    return [name for name, digest in SAMPLES.items()
            if not (dest / name).is_file() or sha256_of(dest / name) != digest]


def fetch_samples(dest: Path | None = None) -> Path:
    """Fetch, verify and write the sample photos; returns the folder they are in."""
    dest = Path(dest) if dest is not None else default_dir()
    todo = missing(dest)
    if not todo:
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    log.info("fetching sample photos from %s", REQUIREMENT)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        archive = pip_download(REQUIREMENT, Path(tmp), sdist=True)
        for name in todo:
            out = extract_member(archive, PREFIX + name, Path(tmp) / name)
            if sha256_of(out) != SAMPLES[name]:
                raise FacerecError(f"sample {name} from {REQUIREMENT} failed its sha256 check")
            os.replace(out, dest / name)
    return dest
