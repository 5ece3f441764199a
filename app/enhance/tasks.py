"""Celery task of the enhancement step: a thin wrapper around a plain function."""

from __future__ import annotations

import uuid

from app import tasknames
from app.celery_app import celery_app
from app.config import get_settings

_settings = get_settings()


@celery_app.task(
    name=tasknames.ENHANCE,
    bind=True,
    soft_time_limit=_settings.job_timeout_seconds,
    time_limit=_settings.job_timeout_seconds + 120,
)
def enhance(self: object, job_id: str) -> str:
    """Run one enhancement job (its models are imported here, in the worker only)."""
    from app.enhance.execution import run_enhancement

    hostname = getattr(getattr(self, "request", None), "hostname", None) or "worker"
    return run_enhancement(uuid.UUID(job_id), worker_id=str(hostname))
