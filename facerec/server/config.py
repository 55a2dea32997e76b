"""Settings of the HTTP service, and the rule that keeps it safe by default."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from ..errors import FacerecError

API_KEY_HEADER = "X-API-Key"


@dataclass(frozen=True)
class ServerConfig:
    """How ``facerec serve`` runs.

    Attributes:
        db: the database folder (created on the first enrollment if missing).
        host, port: where to listen.
        api_key: required in the ``X-API-Key`` header of every data request when set;
            it must be set to listen beyond loopback (see ``check``).
        max_upload_bytes: larger request bodies are refused with 413.
        max_pixels: larger images are refused with 400 before they are decoded.
        max_batch: most images per forward pass.
        max_wait: seconds the batcher waits for company after a request arrives.
        max_queue: most images waiting for the networks; beyond it, 503.
        top_k: candidates per face unless the request asks otherwise.
    """

    db: Path
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_batch: int = 16
    max_wait: float = 0.002
    max_queue: int = 64
    top_k: int = 3

    def check(self) -> None:
        """Refuse settings that would expose the database: no key beyond loopback."""
        if not is_loopback(self.host) and not self.api_key:
            raise FacerecError(
                f"listening on {self.host} makes the database reachable from other machines; "
                "set an API key (FACEREC_API_KEY or --api-key-file) or listen on 127.0.0.1")
        if self.api_key is not None and len(self.api_key) < 16:
            raise FacerecError("the API key must be at least 16 characters long")

    def __repr__(self) -> str:  # never print the key
        key = "set" if self.api_key else "none"
        return (f"ServerConfig(db={str(self.db)!r}, host={self.host!r}, port={self.port}, "
                f"api_key=<{key}>)")


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
