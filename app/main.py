"""The FastAPI application. It never imports torch, faster-whisper or pyannote."""

from __future__ import annotations

from fastapi import FastAPI

from app import __version__
from app.config import get_settings
from app.enhance.router import router as enhance_router
from app.errors import install_error_handlers
from app.jobs.router import router as jobs_router
from app.limits import BodySizeLimitMiddleware
from app.logs import configure_logging
from app.transfers.router import router as transfers_router
from app.webhooks.router import router as webhooks_router


def create_app() -> FastAPI:
    """Build the API application from settings."""
    settings = get_settings()
    configure_logging(settings.log_level)
    application = FastAPI(
        title="Scribe Rabbit",
        version=__version__,
        description="Speaker-attributed transcripts of recordings, as asynchronous jobs.",
    )
    install_error_handlers(application)
    application.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes)
    application.include_router(jobs_router)
    application.include_router(transfers_router)
    application.include_router(webhooks_router)
    application.include_router(enhance_router)

    @application.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return application


app = create_app()
