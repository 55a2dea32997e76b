"""Settings of the HTTP service, and the rule that keeps it safe by default."""

from __future__ import annotations

import ipaddress
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from facerec.errors import FacerecError
from facerec.server.access import HostRule

API_KEY_HEADER = "X-API-Key"


@dataclass(frozen=True)
class ServerConfig:
    """How ``facerec serve`` runs.

    Attributes:
        db: the database folder (created on the first enrollment if missing), or a
            PostgreSQL address that other servers may share.
        host, port: where to listen.
        api_key: required in the ``X-API-Key`` header of every data request when set;
            it must be set to listen beyond loopback (see ``check``).
        max_upload_bytes: larger request bodies are refused with 413.
        max_pixels: larger images are refused with 400 before they are decoded.
        max_pixels_in_flight: most decoded pixels of all requests' images at once (in
            decoding, queued or in the networks); further requests wait for room.
        max_decode_side: images are decoded reduced to at most this longer side (the
            detector works at 1280; faces are cropped from this resolution).
        max_batch: most images per forward pass.
        max_wait: seconds the batcher waits for company after a request arrives.
        max_queue: most images waiting for the networks; beyond it, 503.
        analysis_timeout: most seconds an image waits for and runs through the networks;
            beyond it the request gets 503 and a stalled worker is replaced.
        top_k: candidates per face unless the request asks otherwise.
        header_timeout: seconds a connection may take to send a request's headers.
        body_timeout: seconds a request may take to send its body (408 after).
        keep_alive: seconds an idle connection is kept open.
        max_connections: most open connections; more are closed at once, and requests
            beyond it get 503.
        allowed_hosts: host names the server answers besides loopback's and ``host``
            (``NAME`` at any port, or ``NAME:PORT``), e.g. the name a reverse proxy
            passes on; see ``access.HostRule``.
        deepstack_api: answer DeepStack's face API at ``/v1/vision/face...`` (see
            ``deepstack.py``), for NVRs and Home Assistant.
    """

    db: Path | str
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_pixels_in_flight: int = 120_000_000
    max_decode_side: int = 4096
    max_batch: int = 16
    max_wait: float = 0.002
    max_queue: int = 64
    analysis_timeout: float = 60.0
    top_k: int = 3
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keep_alive: float = 5.0
    max_connections: int = 200
    allowed_hosts: tuple[str, ...] = ()
    deepstack_api: bool = True

    def host_rule(self) -> HostRule:
        """The ``Host`` headers this server answers."""
        return HostRule.for_server(self.host, self.port, self.allowed_hosts)

    def check(self) -> None:
        """Refuse settings that would expose the database: no key beyond loopback."""
        if not is_loopback(self.host) and not self.api_key:
            raise FacerecError(
                f"listening on {self.host} makes the database reachable from other machines; "
                "set an API key (FACEREC_API_KEY or --api-key-file) or listen on 127.0.0.1")
        if self.api_key is not None:
            check_api_key(self.api_key)

    def __repr__(self) -> str:  # never print the key
        key = "set" if self.api_key else "none"
        return (f"ServerConfig(db={str(self.db)!r}, host={self.host!r}, port={self.port}, "
                f"api_key=<{key}>)")


MIN_KEY_BITS = 64


def check_api_key(key: str) -> None:
    """Refuse a key that is short, has spaces, or is guessable: fewer than 64 bits by its
    own letter frequencies, fewer than 8 different characters, or mostly a run (half its
    steps from one character to the next the same, as in ``abcdefgh...`` or ``0101...``).
    A key from ``secrets.token_urlsafe(32)`` passes easily."""
    advice = ('; make one with: python3 -c "import secrets; '
              'print(secrets.token_urlsafe(32))"')
    if len(key) < 16:
        raise FacerecError("the API key must be at least 16 characters long" + advice)
    if any(c.isspace() or not c.isprintable() for c in key):
        raise FacerecError("the API key must not hold spaces or control characters" + advice)
    counts = Counter(key)
    bits = -sum(n * math.log2(n / len(key)) for n in counts.values())
    steps = Counter(ord(b) - ord(a) for a, b in zip(key, key[1:]))
    mostly_a_run = steps.most_common(1)[0][1] >= (len(key) - 1) / 2
    if len(counts) < 8 or bits < MIN_KEY_BITS or mostly_a_run:
        raise FacerecError(f"the API key is too easy to guess (about {bits:.0f} bits; at "
                           f"least {MIN_KEY_BITS} are needed)" + advice)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
