"""Who may talk to the server: the host it is called by, the page a change comes from,
and requests whose length is ambiguous.

A browser lets any website send requests to ``127.0.0.1``; three checks keep such a site
away from the database, before any route runs:

* **Host** (DNS rebinding): a site whose own name is made to resolve to 127.0.0.1 reaches
  the server with ``Host: its.name``. Only the names the server was told it is are
  answered (``localhost``, ``127.0.0.1``, ``[::1]`` and the ``--host`` address, at the
  server's port or none; names given with ``--allowed-host``); anything else gets 421.
  Listening on every address (``0.0.0.0``, ``::``), any IP address is accepted too: a
  rebinding attack needs a name, and an API key is required there anyway.
* **Origin** (cross-site request forgery): a form on another site can POST to the server
  without any preflight. Every request that may change something (POST, PUT, PATCH,
  DELETE) must come from the server's own pages: a foreign or ``null`` ``Origin``, a
  ``Sec-Fetch-Site`` other than ``same-origin`` or ``none``, a foreign ``Referer``, or a
  browser's request carrying none of the three gets 403. Programs such as curl send none
  of these headers and are not browsers, so they keep working.
* **Framing** (request smuggling, RFC 9112 section 6.3): a request with both
  ``Content-Length`` and ``Transfer-Encoding``, or with two different lengths, gets 400
  and the connection is closed, so nothing hidden in its body is read as a request. A
  path whose percent-encodings are not UTF-8 gets 400 too, rather than reaching a route
  with U+FFFD in a person's name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from facerec.server.body_limit import send_error

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "[::]", "")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAFE_FETCH_SITES = frozenset({"same-origin", "none"})


@dataclass(frozen=True)
class HostRule:
    """The ``Host`` values a server answers.

    Attributes:
        names: host names (lower case, IPv6 in brackets) accepted at ``port`` or with no
            port.
        any_port: host names accepted at any port (those given as ``--allowed-host NAME``).
        exact: ``name:port`` pairs accepted as they are.
        port: the port the server listens on.
        any_address: accept any IP address (the server listens on every address).
    """

    names: frozenset[str]
    any_port: frozenset[str]
    exact: frozenset[str]
    port: int
    any_address: bool

    @classmethod
    def for_server(cls, host: str, port: int, allowed: Iterable[str] = ()) -> HostRule:
        """The rule for a server listening on ``host``:``port`` that was also told the
        names in ``allowed`` (each ``NAME`` for any port or ``NAME:PORT``)."""
        any_port, exact = set(), set()
        for entry in allowed:
            name, entry_port = split_authority(entry.strip().lower())
            if entry_port is None:
                any_port.add(name)
            else:
                exact.add(f"{name}:{entry_port}")
        listening = _bracketed(host.strip().lower())
        return cls(names=frozenset({*LOOPBACK_NAMES, listening}),
                   any_port=frozenset(any_port), exact=frozenset(exact), port=port,
                   any_address=host.strip().lower() in WILDCARD_ADDRESSES)

    def accepts(self, authority: str) -> bool:
        """Whether a ``Host`` header (``name``, ``name:port``, ``[v6]:port``) is ours."""
        name, port = split_authority(authority.strip().lower())
        if not name:
            return False
        if name in self.any_port or f"{name}:{port}" in self.exact:
            return True
        if port is not None and port != self.port:
            return False
        return name in self.names or (self.any_address and _is_ip(name))


def split_authority(authority: str) -> tuple[str, int | None]:
    """``("name", port)`` of ``name[:port]`` or ``[v6][:port]``; a port that is not a
    number gives ``("", None)``, which no rule accepts."""
    if authority.startswith("["):
        end = authority.find("]")
        name, rest = authority[:end + 1], authority[end + 1:]
        if end < 0 or (rest and not rest.startswith(":")):
            return "", None
        port_text = rest[1:] if rest else None
    elif authority.count(":") == 1:
        name, port_text = authority.split(":")
    elif ":" in authority:               # a bare IPv6 address, as --host may give it
        return _bracketed(authority), None
    else:
        name, port_text = authority, None
    if port_text is None:
        return name, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return "", None
    return name, int(port_text)


class AccessMiddleware:
    """Refuses, before routing: unknown hosts (421), requests that may change something
    from another site (403), and ambiguous request framing (400). Every refusal closes
    the connection."""

    def __init__(self, app: ASGIApp, hosts: HostRule) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = (_framing_problem(headers) or self._host_problem(headers)
                   or _origin_problem(scope["method"], headers) or _path_problem(scope))
        if refusal is not None:
            await send_error(send, *refusal, scope)
            return
        await self.app(scope, receive, send)

    def _host_problem(self, headers: dict[str, list[str]]) -> tuple[int, str] | None:
        given = headers.get("host", [])
        if len(given) != 1:
            return 400, "a request needs exactly one Host header"
        if not self.hosts.accepts(given[0]):
            return 421, ("this server does not answer to that host name; start it with "
                         "--allowed-host NAME to use another name")
        return None


def _headers(scope: Scope) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        found.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return found


def _framing_problem(headers: dict[str, list[str]]) -> tuple[int, str] | None:
    lengths = {v.strip() for value in headers.get("content-length", [])
               for v in value.split(",")}
    if "transfer-encoding" in headers and lengths:
        return 400, ("a request may not carry both Content-Length and Transfer-Encoding "
                     "(RFC 9112, 6.3)")
    if len(lengths) > 1:
        return 400, "a request may not carry two different Content-Length values"
    return None


def _path_problem(scope: Scope) -> tuple[int, str] | None:
    """A path whose percent-encodings are not UTF-8 (``/v1/people/Jos%E9``) would reach
    the routes with U+FFFD in place of the bytes, and name another person."""
    raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return 400, "the URL's path is not UTF-8 once percent-decoded; encode names as UTF-8"
    return None


def _origin_problem(method: str, headers: dict[str, list[str]]) -> tuple[int, str] | None:
    if method.upper() not in UNSAFE_METHODS:
        return None
    host = headers["host"][0].strip().lower()
    origin = _one(headers, "origin")
    fetch_site = _one(headers, "sec-fetch-site")
    referer = _one(headers, "referer")
    refused = (403, "changes are accepted only from this server's own pages: the request "
                    "came from another site")
    if origin is not None and (origin.lower() == "null" or _authority(origin) != host):
        return refused
    if fetch_site is not None and fetch_site.lower() not in SAFE_FETCH_SITES:
        return refused
    if referer is not None and _authority(referer) != host:
        return refused
    if origin is None and fetch_site is None and _is_browser(headers):
        return 403, ("a browser's request that changes something must say where it comes "
                     "from (Origin or Sec-Fetch-Site); it had neither")
    return None


def _one(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return None if not values else ",".join(values).strip()


def _authority(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    return parts.netloc.lower() if parts.scheme in ("http", "https") else ""


def _is_browser(headers: dict[str, list[str]]) -> bool:
    """Every browser's User-Agent starts with ``Mozilla/``; command-line clients' and
    libraries' do not."""
    return any(agent.strip().startswith("Mozilla/") for agent in headers.get("user-agent", []))


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True
