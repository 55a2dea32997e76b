"""The web page at ``/``: static files shipped inside the package (``facerec/server/static``), no
build step. The page talks to the same ``/v1`` API as any client, with the API key the
user gives it (kept in the tab's sessionStorage, never in a URL or a cookie)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

PAGE = files("facerec.server") / "static"


def add_web_page(app: FastAPI) -> None:
    """Serve ``index.html`` at ``/`` and the page's scripts and styles under ``/static``."""
    app.mount("/static", StaticFiles(directory=str(PAGE)), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(PAGE / "index.html"), media_type="text/html")
