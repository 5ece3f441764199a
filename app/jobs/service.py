"""Job operations the API offers: create, read, list, cancel, delete, fetch results."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.auth.quotas import check_active_jobs
from app.auth.service import Principal
from app.config import Settings
from app.errors import Conflict, DomainError, Invalid, InvalidRequest, NotFound, Problem
from app.jobs.dispatch import prepare_dispatch
from app.jobs.schemas import KNOWN_ENGINES, TranscriptionOptions
from app.models import TERMINAL_STATUSES, Job, JobStatus, utcnow
from app.storage import ObjectNotFound, Storage, StorageUnavailable, job_prefix
from app.webhooks import outbox
from app.webhooks.destinations import check_webhook_url

log = logging.getLogger(__name__)

FORMATS: dict[str, str] = {
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "rttm": "text/plain; charset=utf-8",
}


class Gone(DomainError):
    """The thing existed but was deleted for good (by retention)."""

    status_code = 410
    code = "gone"


@dataclass(frozen=True)
class JobInputSpec:
    """Where a new job's recording comes from: an object already stored, or a URL."""

    input_key: str | None = None
    input_url: str | None = None
    filename: str | None = None
    size_bytes: int | None = None


def option_problems(values: Mapping[str, Any], *, settings: Settings) -> list[Problem]:
    """Every server-side problem of a job's options against this deployment.

    `values` holds the options that passed the schema (absent ones take their defaults), so a
    request with schema errors still has its other options checked.
    """
    problems: list[Problem] = []
    engine = values.get("engine")
    if engine is not None and engine not in KNOWN_ENGINES:
        problems.append(
            Problem(
                "engine",
                "unknown_engine",
                f"unknown engine {engine!r}; this server runs: {', '.join(KNOWN_ENGINES)}",
            )
        )
    model = values.get("model") or settings.asr_model
    allowed = sorted({settings.asr_model, *settings.asr_models})
    if model not in allowed:
        problems.append(
            Problem(
                "model",
                "model_unavailable",
                f"model {model!r} is not available here; choose one of: {', '.join(allowed)}. "
                "This server loads only the models its ASR_MODELS lists (weights that ship as "
                "packages, local folders, or Hugging Face ids it may read) and fetches nothing "
                "from a model hub for a request",
            )
        )
    language = values.get("language")
    language = language.strip().lower() if isinstance(language, str) else None
    if model.endswith(".en"):
        if values.get("task") == "translate":
            problems.append(
                Problem(
                    "task",
                    "translation_unsupported",
                    f"model {model!r} is English-only and cannot translate",
                )
            )
        if language not in (None, "en"):
            problems.append(
                Problem(
                    "language",
                    "language_unsupported",
                    f"model {model!r} is English-only; language must be 'en' or absent",
                )
            )
    for name in ("num_speakers", "min_speakers", "max_speakers"):
        value = values.get(name)
        if value is not None and value > settings.max_speakers:
            problems.append(
                Problem(name, "too_many_speakers", f"must be at most {settings.max_speakers}")
            )
    retention = values.get("retention")
    if retention is not None and retention.total_seconds() > settings.max_retention_days * 86400:
        problems.append(
            Problem(
                "retention",
                "retention_too_long",
                f"must be at most {settings.max_retention_days:g} days",
            )
        )
    webhook_url = values.get("webhook_url")
    if webhook_url is not None:
        try:
            check_webhook_url(str(webhook_url), settings=settings)
        except DomainError as exc:
            problems.append(
                Problem("webhook_url", exc.code, exc.message.removeprefix("webhook_url: "))
            )
    return problems


def stored_options(options: TranscriptionOptions, *, settings: Settings) -> dict[str, Any]:
    """The options as a job row keeps them (defaults filled in)."""
    stored = options.model_dump(mode="json", exclude={"recording_id"})
    stored["model"] = options.model or settings.asr_model
    stored["engine"] = options.engine or KNOWN_ENGINES[0]
    return stored


def check_options(options: TranscriptionOptions, *, settings: Settings) -> dict[str, Any]:
    """Server-side checks of options against this deployment (InvalidRequest lists every
    problem); returns what is stored."""
    problems = option_problems(dict(options), settings=settings)
    if problems:
        raise InvalidRequest(problems)
    return stored_options(options, settings=settings)


def create_job(
    session: Session,
    *,
    principal: Principal,
    options: TranscriptionOptions,
    source: JobInputSpec,
    settings: Settings,
    job_id: uuid.UUID | None = None,
    checked: bool = False,
) -> tuple[Job, str]:
    """Add a queued job and its task id; the caller commits, then publishes.

    `checked`: the options already passed `check_options` (app.jobs.intake), so the network
    checks of a webhook URL are not made twice.
    """
    check_active_jobs(session, key_id=principal.key_id, settings=settings)  # 429 over the cap
    job = Job(
        id=job_id or uuid.uuid4(),
        owner=principal.owner,
        api_key_id=principal.key_id,
        status=JobStatus.QUEUED,
        options=stored_options(options, settings=settings)
        if checked
        else check_options(options, settings=settings),
        recording_id=options.recording_id,
        input_key=source.input_key,
        input_url=source.input_url,
        input_filename=source.filename,
        input_bytes=source.size_bytes,
        retention_seconds=retention_seconds(options, settings=settings),
    )
    task_id = prepare_dispatch(job)
    session.add(job)
    session.flush()
    return job, task_id


def retention_seconds(options: TranscriptionOptions, *, settings: Settings) -> int | None:
    """How long the job's input and results are kept after it ends; None keeps them."""
    if options.retention is not None:
        return int(options.retention.total_seconds())
    if settings.retention_days > 0:
        return int(settings.retention_days * 86400)
    return None


def get_job(session: Session, *, principal: Principal, job_id: uuid.UUID) -> Job:
    """The caller's job, or NotFound (also for another tenant's job)."""
    job = session.scalar(
        select(Job).where(Job.id == job_id, Job.owner == principal.owner, Job.deleted_at.is_(None))
    )
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


def _encode_cursor(job: Job) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|", 1)
        return datetime.fromisoformat(created), uuid.UUID(job_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid("cursor is not valid; use next_cursor from a previous page") from exc


def list_jobs(
    session: Session,
    *,
    principal: Principal,
    status: JobStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Job], str | None]:
    """The caller's jobs, newest first, keyset-paginated."""
    query = select(Job).where(Job.owner == principal.owner, Job.deleted_at.is_(None))
    if status is not None:
        query = query.where(Job.status == status)
    if cursor:
        created, last_id = _decode_cursor(cursor)
        query = query.where(
            or_(Job.created_at < created, and_(Job.created_at == created, Job.id < last_id))
        )
    jobs = list(
        session.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1))
    )
    next_cursor = _encode_cursor(jobs[limit - 1]) if len(jobs) > limit else None
    return jobs[:limit], next_cursor


def cancel_job(session: Session, *, principal: Principal, job_id: uuid.UUID) -> Job:
    """Cancel a queued or running job; a running worker notices at its next heartbeat."""
    job = get_job(session, principal=principal, job_id=job_id)
    if job.job_status in TERMINAL_STATUSES:
        raise Conflict(f"job {job_id} has already ended ({job.status})", code="job_finished")
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .values(
            status=JobStatus.CANCELED,
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
            error_code="canceled",
            error_message="The job was canceled at the client's request.",
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        outbox.record_job_event(session, job_id=job.id)  # same transaction (outbox)
    session.commit()
    session.refresh(job)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"job {job_id} has already ended ({job.status})", code="job_finished")
    return job


def delete_job(
    session: Session, *, principal: Principal, job_id: uuid.UUID, storage: Storage
) -> None:
    """Remove the job's audio and results everywhere and hide the job; a running job stops."""
    job = get_job(session, principal=principal, job_id=job_id)
    now = utcnow()
    # Stopping an unfinished job is its final state: only when it was still unfinished (a worker
    # may have just finished it), and its webhook event is recorded in the same transaction.
    stopped = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .values(
            status=JobStatus.CANCELED,
            finished_at=now,
            lease_expires_at=None,
            error_code="canceled",
            error_message="The job was deleted before it finished.",
        )
        .execution_options(synchronize_session=False)
    )
    if stopped.rowcount == 1:  # type: ignore[attr-defined]
        outbox.record_job_event(session, job_id=job.id)
    outbox.forget_results(session, job_id=job.id)  # a webhook body may hold the transcript
    values: dict[str, Any] = {"deleted_at": now, "updated_at": now, "result_keys": {}}
    session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    try:
        storage.delete_prefix(job_prefix(job.id))
    except StorageUnavailable as exc:  # the job is gone for the client; retention retries
        log.warning("storage objects of deleted job %s remain for now: %s", job.id, exc.message)
        return
    session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(purged_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()


def transcript_key(session: Session, *, principal: Principal, job_id: uuid.UUID, fmt: str) -> str:
    """Where a finished job's result in one format is stored (its checks, without reading it)."""
    job = get_job(session, principal=principal, job_id=job_id)
    if job.status != JobStatus.SUCCEEDED:
        raise Conflict(
            f"job {job_id} is {job.status}; the transcript exists once it has succeeded",
            code="job_not_finished" if job.status in ("queued", "running") else "no_transcript",
        )
    if job.purged_at is not None:
        raise Gone(
            f"the results of job {job_id} were deleted at {job.purged_at:%Y-%m-%d %H:%M} UTC "
            "when their retention ended",
            code="purged",
        )
    key = job.result_keys.get(fmt)
    if key is None:
        reason = " (it needs diarize=true)" if fmt == "rttm" else ""
        raise NotFound(f"this job has no {fmt} result{reason}", code="format_unavailable")
    return str(key)


def read_transcript(
    session: Session, *, principal: Principal, job_id: uuid.UUID, fmt: str, storage: Storage
) -> bytes:
    """A finished job's result in one format, with the speaker names given to it."""
    key = transcript_key(session, principal=principal, job_id=job_id, fmt=fmt)
    job = get_job(session, principal=principal, job_id=job_id)
    names = job.speaker_names
    if names:  # rendered from the JSON result with the names applied
        key = str(job.result_keys["json"])
    try:
        data = storage.get_bytes(key)
    except ObjectNotFound as exc:
        raise NotFound(f"the {fmt} result of job {job_id} is no longer stored") from exc
    if not names:
        return data
    from app.jobs.speakers import render_named

    named = render_named(json.loads(data), fmt, names)
    if named is None:
        raise NotFound(f"this job has no {fmt} result", code="format_unavailable")
    return named
