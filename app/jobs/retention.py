"""Retention: a finished job's input and results are deleted from storage once its retention
has run out, and the job is marked purged (its row stays, so the client sees what happened).

Run by Celery beat. Storage is deleted outside any database transaction; a job is marked purged
only after its objects are gone, so a storage outage just means the next pass tries again. The
same pass finishes deletions that DELETE could not complete and removes unused direct uploads.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from app.config import Settings
from app.db import session_scope
from app.models import TERMINAL_STATUSES, Job, Upload, UploadStatus, utcnow
from app.storage import Storage, StorageUnavailable, job_prefix

log = logging.getLogger(__name__)

BATCH = 200
# An unused upload's object is kept a little past its URL's expiry (a PUT may still be landing).
UPLOAD_GRACE = timedelta(hours=1)


@dataclass
class PurgeReport:
    """What one pass did."""

    scheduled: int = 0
    purged: int = 0
    uploads_expired: int = 0
    failed: int = 0


def _schedule(now: datetime) -> int:
    """Give every ended job with a retention its expiry time (counted from when it ended)."""
    with session_scope() as session:
        jobs = session.scalars(
            select(Job)
            .where(
                Job.expires_at.is_(None),
                Job.retention_seconds.is_not(None),
                Job.finished_at.is_not(None),
                Job.status.in_(list(TERMINAL_STATUSES)),
                Job.purged_at.is_(None),
            )
            .limit(BATCH)
        ).all()
        for job in jobs:
            assert job.finished_at is not None and job.retention_seconds is not None
            job.expires_at = job.finished_at + timedelta(seconds=job.retention_seconds)
        return len(jobs)


def _due(now: datetime) -> list[uuid.UUID]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(Job.id)
                .where(
                    Job.purged_at.is_(None),
                    or_(
                        Job.deleted_at.is_not(None),
                        (Job.expires_at < now) & Job.status.in_(list(TERMINAL_STATUSES)),
                    ),
                )
                .order_by(Job.expires_at)
                .limit(BATCH)
            )
        )


def _mark_purged(job_id: uuid.UUID, now: datetime) -> None:
    with session_scope() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.purged_at.is_(None))
            .values(purged_at=now, result_keys={}, updated_at=now)
            .execution_options(synchronize_session=False)
        )


def _expire_uploads(now: datetime, storage: Storage, report: PurgeReport) -> None:
    with session_scope() as session:
        stale = list(
            session.execute(
                select(Upload.id, Upload.job_id)
                .where(
                    Upload.status == UploadStatus.PENDING, Upload.expires_at < now - UPLOAD_GRACE
                )
                .limit(BATCH)
            ).tuples()
        )
    for upload_id, job_id in stale:
        try:
            storage.delete_prefix(job_prefix(job_id))
        except StorageUnavailable as exc:
            log.warning("retention: upload %s kept for now: %s", upload_id, exc.message)
            report.failed += 1
            continue
        with session_scope() as session:
            result = session.execute(
                update(Upload)
                .where(Upload.id == upload_id, Upload.status == UploadStatus.PENDING)
                .values(status=UploadStatus.EXPIRED)
                .execution_options(synchronize_session=False)
            )
            report.uploads_expired += int(result.rowcount)  # type: ignore[attr-defined]


def purge_expired(
    *, settings: Settings, storage: Storage, now: datetime | None = None
) -> PurgeReport:
    """One retention pass over jobs and unused uploads."""
    now = now or utcnow()
    report = PurgeReport(scheduled=_schedule(now))
    for job_id in _due(now):
        try:
            storage.delete_prefix(job_prefix(job_id))
        except StorageUnavailable as exc:
            log.warning("retention: job %s kept for now: %s", job_id, exc.message)
            report.failed += 1
            continue
        _mark_purged(job_id, now)
        report.purged += 1
    _expire_uploads(now, storage, report)
    if report.purged or report.uploads_expired or report.failed:
        log.info(
            "retention: %d jobs purged, %d unused uploads removed, %d left for the next pass",
            report.purged,
            report.uploads_expired,
            report.failed,
        )
    return report
