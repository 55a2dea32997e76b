"""Guards against slow or careless clients.

* ``guarded_protocol``: uvicorn's HTTP/1.1 protocol with a limit on open connections (a
  connection beyond it is closed at once) and a deadline for a request's headers (a
  client that has not sent them whole within ``header_timeout`` seconds is cut off;
  uvicorn itself only times out idle keep-alive connections).
* ``RequestGuardMiddleware``: a deadline for the request body, and refusal of an API key
  put in the URL: the request gets 400, and its query string is blanked before the
  access log sees it, so the key is never written down.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from facerec.server.body_limit import send_error

KEY_PARAMETERS = frozenset({"api_key", "apikey", "api-key", "key", "x-api-key", "token",
                            "access_token"})


def guarded_protocol(header_timeout: float, max_connections: int) -> type[H11Protocol]:
    """An H11Protocol class enforcing the header deadline and the connection limit."""

    class GuardedH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_timer: asyncio.TimerHandle | None = None
            if len(self.connections) > max_connections:
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            cycle_before = self.cycle
            super().data_received(data)
            if self.cycle is not None and self.cycle is not cycle_before:
                self._disarm()                      # headers complete: a request began
            elif self._header_timer is None and self._between_requests():
                self._arm()                         # the first bytes of a next request

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._disarm()  # idle again: uvicorn's keep-alive timeout takes over

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            timer = getattr(self, "_header_timer", None)
            if timer is not None:
                timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self._between_requests() and not self.transport.is_closing():
                self.logger.info("closed a connection that sent no complete request headers "
                                 "within %.0f s", header_timeout)
                self.transport.close()

    return GuardedH11Protocol


class RequestGuardMiddleware:
    """Answers 400 to a request with an API key in its URL (and keeps the URL out of the
    log), and 408 to one whose body is not received within ``body_timeout`` seconds."""

    def __init__(self, app: ASGIApp, body_timeout: float) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_key(scope.get("query_string", b"")):
            scope["query_string"] = b""  # the access log reads the URL from the scope
            await send_error(send, 400, "an API key was sent in the URL, where logs and "
                                     "browser histories keep it; send it in the X-API-Key "
                                     "header, and replace that key", scope)
            return
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        timed_out = answered = False

        async def timed_receive() -> Message:
            nonlocal timed_out
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                return await asyncio.wait_for(receive(), max(remaining, 0.001))
            except asyncio.TimeoutError:
                timed_out = True
                raise BodyTimeout from None

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if not timed_out:
                await send(message)
            elif not answered:
                answered = True
                await send_error(send, 408, "the request body did not arrive in time", scope)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except BodyTimeout:
            if not answered:
                answered = True
                await send_error(send, 408, "the request body did not arrive in time", scope)


class BodyTimeout(Exception):
    """The request body was not received within the deadline."""


def _has_key(query: bytes) -> bool:
    try:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    except ValueError:
        return False
    return any(name.strip().lower() in KEY_PARAMETERS for name, _ in pairs)
