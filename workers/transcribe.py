"""Celery entry for the transcription (GPU) pool: the shared app plus model warm-up.

    celery -A workers.transcribe worker -Q transcribe --concurrency 1

Each pool child loads its models right after the fork, before it takes a job; the parent never
touches CUDA, so forking stays safe.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init

from app.celery_app import celery_app
from app.config import get_settings

app = celery_app


@worker_process_init.connect(weak=False)
def _warm_up(**_: Any) -> None:
    from workers.warmup import warm_up

    warm_up(get_settings())
