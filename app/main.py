"""The FastAPI application. It never imports torch, faster-whisper or pyannote."""

from __future__ import annotations

from fastapi import FastAPI

from app import __version__
from app.config import get_settings
from app.docs import install_offline_docs
from app.enhance.router import router as enhance_router
from app.errors import install_error_handlers
from app.jobs.catalog import router as catalog_router
from app.jobs.events import router as job_events_router
from app.jobs.review_router import router as review_router
from app.jobs.router import router as jobs_router
from app.limits import BodySizeLimitMiddleware
from app.logs import configure_logging
from app.openai_compat.router import router as openai_router
from app.ops.middleware import RequestContextMiddleware
from app.ops.router import router as ops_router
from app.ops.tracing import setup_api_tracing
from app.transfers.router import router as transfers_router
from app.web.router import install_web_app
from app.webhooks.router import router as webhooks_router


def create_app() -> FastAPI:
    """Build the API application from settings."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    application = FastAPI(
        title="Scribe Rabbit",
        version=__version__,
        description="Speaker-attributed transcripts of recordings, as asynchronous jobs.",
        docs_url=None,  # served from packaged assets instead of a CDN (app/docs.py)
        redoc_url=None,
    )
    install_offline_docs(application)
    install_error_handlers(application)
    application.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes)
    # Added last, so it runs first: every answer (a refused body too) gets its request id.
    application.add_middleware(RequestContextMiddleware)
    application.include_router(jobs_router)
    application.include_router(review_router)
    application.include_router(catalog_router)
    application.include_router(transfers_router)
    application.include_router(webhooks_router)
    application.include_router(enhance_router)
    application.include_router(openai_router)

    application.include_router(job_events_router)
    application.include_router(ops_router)
    install_web_app(application)
    setup_api_tracing(application, settings)
    return application


app = create_app()
