"""Celery tasks of the jobs domain: thin wrappers that call plain functions."""

from __future__ import annotations

import logging
import uuid

from app import tasknames
from app.celery_app import celery_app
from app.config import get_settings

log = logging.getLogger(__name__)


_settings = get_settings()


@celery_app.task(
    name=tasknames.TRANSCRIBE,
    bind=True,
    soft_time_limit=_settings.job_timeout_seconds,
    time_limit=_settings.job_timeout_seconds + 120,
)
def transcribe(self: object, job_id: str) -> str:
    """Run one transcription job (the model stack is imported here, in the worker only)."""
    from app.jobs.execution import run_transcription

    hostname = getattr(getattr(self, "request", None), "hostname", None) or "worker"
    return run_transcription(uuid.UUID(job_id), worker_id=str(hostname))


@celery_app.task(name=tasknames.RECONCILE)
def reconcile() -> dict[str, int]:
    """Find lost or stalled jobs and send them again."""
    from app import broker
    from app.db import session_scope
    from app.jobs.dispatch import publish_job
    from app.jobs.reconcile import broker_queues
    from app.jobs.reconcile import reconcile as reconcile_jobs

    settings = get_settings()
    snapshot = broker.snapshot(settings, broker_queues())
    with session_scope() as session:
        report = reconcile_jobs(session, settings=settings, broker=snapshot)
    for job_id, kind, task_id in report.to_publish:
        publish_job(job_id, kind, task_id)
    from app.ops.metrics import record_reconcile

    record_reconcile(report.requeued_expired, report.resent_lost, report.failed)
    if report.to_publish or report.failed_exhausted:
        log.info(
            "reconciler: %d requeued after lost leases, %d resent, %d failed for good",
            report.requeued_expired,
            report.resent_lost,
            report.failed_exhausted,
        )
    return {
        "requeued_expired": report.requeued_expired,
        "resent_lost": report.resent_lost,
        "failed_exhausted": report.failed_exhausted,
    }


@celery_app.task(name=tasknames.PURGE_EXPIRED)
def purge_expired() -> dict[str, int]:
    """Retention: delete expired inputs and results from storage and mark their jobs purged."""
    from app.jobs.retention import purge_expired as purge
    from app.storage import get_storage

    report = purge(settings=get_settings(), storage=get_storage())
    return {"purged": report.purged, "uploads_expired": report.uploads_expired}
