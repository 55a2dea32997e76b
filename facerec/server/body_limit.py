"""Refusing request bodies above a size, before they are read into memory."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facerec.server.error_shapes import error_body


class BodyTooLarge(Exception):
    """The request body is larger than the server accepts."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


class BodyLimitMiddleware:
    """ASGI middleware answering 413 to request bodies above ``max_bytes``.

    A declared Content-Length above the limit is refused before anything is read; a body
    that grows past the limit while streaming is cut off, and whatever the app would
    have answered is replaced by the 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_413(send, self.max_bytes, scope)
            return
        received = 0
        exceeded = answered = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if not exceeded:
                await send(message)
            elif not answered:
                answered = True
                await _send_413(send, self.max_bytes, scope)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not answered:
                answered = True
                await _send_413(send, self.max_bytes, scope)


async def _send_413(send: Send, limit: int, scope: Scope) -> None:
    await send_error(send, 413, f"the request body is larger than {limit} bytes", scope)


async def send_error(send: Send, status: int, message: str, scope: Scope) -> None:
    """Answer ``scope``'s request with a JSON error (in the shape its route's clients
    read, see ``error_shapes``) and close the connection (for middleware that answers
    before, or instead of, the app)."""
    body = json.dumps(error_body(scope.get("path", ""), status, message)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
