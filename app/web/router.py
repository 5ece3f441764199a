"""Serves the web app: the page at `/` and its files under `/static/`, with a strict CSP.

The files ship inside the package (app/web/static) and load nothing from elsewhere: plain ES
modules and CSS, no build step. The page talks to the JSON API with the key the person signs
in with; the Content-Security-Policy lets it reach only this origin and, when uploads and
playback go straight to object storage, that storage's origin.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.config import Settings, get_settings

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)


def _origin(url: str) -> str | None:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None


def storage_origins(settings: Settings) -> list[str]:
    """Origins the browser talks to directly for presigned uploads and playback."""
    if settings.storage_backend == "s3":
        if settings.s3_endpoint_url and (origin := _origin(settings.s3_endpoint_url)):
            scheme, host = origin.split("://", 1)
            return [origin, f"{scheme}://*.{host}"]  # path-style and virtual-hosted buckets
        return ["https://*.amazonaws.com"]
    if settings.storage_backend == "gcs":
        if settings.storage_emulator_host and (origin := _origin(settings.storage_emulator_host)):
            return [origin]
        return ["https://storage.googleapis.com", "https://*.storage.googleapis.com"]
    return []


def content_security_policy(settings: Settings) -> str:
    """The page's policy: its own scripts and styles only, no inline code, no frames."""
    storage = " ".join(storage_origins(settings))
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self'",
        "connect-src": f"'self' {storage}".strip(),
        "media-src": f"'self' {storage}".strip(),
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(get_settings()),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


class StaticAssets(StaticFiles):
    """The page's files: revalidated on every load (an upgrade never mixes old and new files)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(_page_headers())
        return response


@router.get("/", response_class=FileResponse)
def web_app() -> FileResponse:
    """The web app's page."""
    return FileResponse(STATIC_DIR / "index.html", headers=_page_headers())


def install_web_app(application: FastAPI) -> None:
    """Serve the page at `/` and its files at `/static/`."""
    application.include_router(router)
    application.mount("/static", StaticAssets(directory=STATIC_DIR), name="static")
