"""The API description page (``/docs``) served from files inside installed packages, so
it renders on a network with no way out (Swagger UI's assets come from the
``fastapi-offline`` package, a Swagger UI recent enough for OpenAPI 3.1, not from a
CDN)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def add_offline_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` with its scripts, styles and icon from ``ASSETS``."""
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png")
