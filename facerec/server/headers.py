"""Security headers on every response.

The server handles photos of people, so nothing it sends may be framed by another site,
sniffed into another type, or leak its address in a Referer. Content-Security-Policy:
API answers may load nothing at all; the web page (``/``) only its own scripts, styles
and images from this server (no inline script, no plug-ins, no forms posted elsewhere);
the API description page (``/docs``, Swagger UI, which starts itself with an inline
script) only from this server.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
DOCS_PATHS = ("/docs", "/docs-assets/")
PAGE_POLICY = ("default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
PAGE_PATHS = ("/static/",)


class SecurityHeadersMiddleware:
    """Adds ``COMMON`` and a Content-Security-Policy to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.startswith(DOCS_PATHS):
            policy = DOCS_POLICY
        elif path == "/" or path.startswith(PAGE_PATHS):
            policy = PAGE_POLICY
        else:
            policy = API_POLICY

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name.encode(), value.encode()) for name, value in
                         {**COMMON, "content-security-policy": policy}.items()
                         if name.encode() not in present]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, with_headers)
