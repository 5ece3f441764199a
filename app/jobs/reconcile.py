"""The reconciler: PostgreSQL holds the truth, the broker may lose messages.

Run by Celery beat. It finds jobs that are queued with no live message (a flushed or restarted
Redis), or running with an expired lease (a killed worker), and sends them again; a job that has
used up its attempts fails for good with its reason.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.broker import BrokerSnapshot
from app.config import Settings
from app.jobs.dispatch import ROUTES, prepare_dispatch
from app.jobs.state import expired_before
from app.models import Job, JobStatus, utcnow
from app.webhooks import outbox

log = logging.getLogger(__name__)


def broker_queues() -> list[str]:
    """Every queue a job message can wait in."""
    return sorted({queue for _task, queue in ROUTES.values()})


@dataclass
class ReconcileReport:
    """What one pass did; `to_publish` holds (job id, kind, task id) to send after commit."""

    requeued_expired: int = 0
    resent_lost: int = 0
    failed_exhausted: int = 0
    to_publish: list[tuple[uuid.UUID, str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (kind, error code), for metrics


def _fail_exhausted(session: Session, job: Job, *, reason: str) -> str | None:
    now = utcnow()
    code = "worker_lost" if job.status == JobStatus.RUNNING else (job.error_code or "worker_lost")
    message = f"Gave up after {job.attempts} attempts: {reason}"
    if job.error_message and job.status == JobStatus.QUEUED:
        message += f"; last error: {job.error_message}"
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == job.status, Job.attempts == job.attempts)
        .values(
            status=JobStatus.FAILED,
            error_code=code,
            error_message=message[:2000],
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    outbox.record_job_event(session, job_id=job.id)  # same transaction (outbox)
    return code


def reconcile(
    session: Session, *, settings: Settings, broker: BrokerSnapshot | None
) -> ReconcileReport:
    """One pass; the caller commits and then publishes `report.to_publish`."""
    now = utcnow()
    report = ReconcileReport()

    # Running with an expired lease: the worker died (or froze). Back to the queue, or fail.
    for job in session.scalars(
        select(Job)
        .where(expired_before(now), Job.deleted_at.is_(None))
        .with_for_update(skip_locked=True)
    ):
        if job.attempts >= settings.max_attempts:
            if code := _fail_exhausted(
                session, job, reason="the worker stopped answering each time"
            ):
                report.failed_exhausted += 1
                report.failed.append((job.kind, code))
            continue
        job.status = JobStatus.QUEUED
        job.claim_token = None
        job.lease_expires_at = None
        job.stage = None
        job.progress = 0
        job.error_code = "worker_lost"
        job.error_message = f"The worker running attempt {job.attempts} stopped answering."
        report.to_publish.append((job.id, job.kind, prepare_dispatch(job)))
        report.requeued_expired += 1

    # Queued: resend when the message is gone (or, on an unreadable broker, when it is old).
    grace = settings.requeue_after_seconds
    if broker is None:
        grace = max(grace, settings.requeue_unknown_broker_after_seconds)
    cutoff = now - timedelta(seconds=grace)
    already = {job_id for job_id, _, _ in report.to_publish}
    for job in session.scalars(
        select(Job)
        .where(Job.status == JobStatus.QUEUED, Job.deleted_at.is_(None), Job.enqueued_at < cutoff)
        .with_for_update(skip_locked=True)
    ):
        if job.id in already:
            continue
        if job.attempts >= settings.max_attempts:
            if code := _fail_exhausted(session, job, reason="every attempt ended in an error"):
                report.failed_exhausted += 1
                report.failed.append((job.kind, code))
            continue
        if broker is not None and job.task_id in broker.task_ids:
            continue
        report.to_publish.append((job.id, job.kind, prepare_dispatch(job)))
        report.resent_lost += 1
    session.flush()
    return report
