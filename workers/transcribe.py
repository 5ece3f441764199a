"""Celery entry for the transcription (GPU) pool: the shared app plus model warm-up.

    celery -A workers.transcribe worker -Q transcribe --concurrency 1

Each pool child loads its models right after the fork, before it takes a job; the parent never
touches CUDA, so forking stays safe. What the warm-up loaded (or why it failed) becomes the
child's readiness report (`/ready` on the worker's metrics port, `celery inspect scribe_readiness`).
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init

from app.celery_app import celery_app
from app.config import get_settings
from app.ops.worker import record_warm_up

app = celery_app


@worker_process_init.connect(weak=False)
def _warm_up(**_: Any) -> None:
    from workers.warmup import warm_up

    try:
        checks = warm_up(get_settings())
    except Exception as exc:
        record_warm_up(error=f"warm-up failed: {type(exc).__name__}: {exc}")
        raise
    record_warm_up(checks=checks)
