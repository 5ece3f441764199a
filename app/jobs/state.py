"""Worker-side state transitions. Each one is a conditional UPDATE, so at-least-once delivery,
reclaimed leases and cancellations can never produce two outcomes for one job."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Job, JobStatus, utcnow
from app.webhooks import outbox


@dataclass(frozen=True)
class Claim:
    """What a worker needs from the row, read once so no session is held during inference."""

    job_id: uuid.UUID
    token: str
    attempt: int
    options: dict[str, Any]
    input_key: str | None
    input_url: str | None
    input_filename: str | None


def _owned(claim: Claim) -> Any:
    return and_(
        Job.id == claim.job_id,
        Job.claim_token == claim.token,
        Job.status == JobStatus.RUNNING,
        Job.deleted_at.is_(None),
    )


def claim_job(
    session: Session, *, job_id: uuid.UUID, worker_id: str, settings: Settings
) -> Claim | None:
    """Take a queued job (or one whose lease expired); None if another worker has it or it ended."""
    now = utcnow()
    token = uuid.uuid4().hex
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.deleted_at.is_(None),
            Job.attempts < settings.max_attempts,
            or_(
                Job.status == JobStatus.QUEUED,
                and_(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now),
            ),
        )
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            claim_token=token,
            lease_expires_at=now + timedelta(seconds=settings.job_lease_seconds),
            worker_id=worker_id[:200],
            stage="starting",
            progress=0,
            started_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    session.commit()
    job = session.scalars(
        select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    ).one()
    return Claim(
        job_id=job.id,
        token=token,
        attempt=job.attempts,
        options=dict(job.options),
        input_key=job.input_key,
        input_url=job.input_url,
        input_filename=job.input_filename,
    )


def renew_lease(
    session: Session, *, claim: Claim, settings: Settings, stage: str | None, progress: int
) -> bool:
    """Extend the lease and record progress; False when the job is no longer ours (canceled,
    deleted or reclaimed), which tells the worker to stop."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(_owned(claim))
        .values(
            lease_expires_at=now + timedelta(seconds=settings.job_lease_seconds),
            stage=stage,
            progress=progress,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def finish_job(session: Session, *, claim: Claim, values: dict[str, Any]) -> bool:
    """Mark the job succeeded with its result; False if it was canceled or reclaimed meanwhile."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(_owned(claim))
        .values(
            status=JobStatus.SUCCEEDED,
            stage="done",
            progress=100,
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
            error_code=None,
            error_message=None,
            **values,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    outbox.record_job_event(session, job_id=claim.job_id)  # same transaction (outbox)
    return True


def fail_job(
    session: Session, *, claim: Claim, code: str, message: str, values: dict[str, Any] | None = None
) -> bool:
    """Mark the job failed for good with a reason the user can act on."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(_owned(claim))
        .values(
            status=JobStatus.FAILED,
            error_code=code,
            error_message=message[:2000],
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
            **(values or {}),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    outbox.record_job_event(session, job_id=claim.job_id)  # same transaction (outbox)
    return True


def release_job(session: Session, *, claim: Claim, code: str, message: str) -> bool:
    """Hand the job back to the queue after a transient error; the reconciler resends it."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(_owned(claim))
        .values(
            status=JobStatus.QUEUED,
            claim_token=None,
            lease_expires_at=None,
            stage=None,
            progress=0,
            error_code=code,
            error_message=message[:2000],
            enqueued_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def expired_before(now: datetime) -> Any:
    """Condition: a running job whose lease ran out before `now`."""
    return and_(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now)
