"""Enhancement jobs: created on a finished transcription, run like any other job."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.quotas import check_active_jobs
from app.auth.service import Principal
from app.config import Settings
from app.enhance.schemas import EnhanceRequest
from app.errors import Conflict, Invalid, NotFound
from app.jobs import service as jobs
from app.jobs import speakers
from app.jobs.dispatch import prepare_dispatch
from app.models import Job, JobStatus
from app.storage import ObjectNotFound, Storage
from app.webhooks.destinations import check_webhook_url

KIND = "enhancement"


def create_enhancement(
    session: Session, *, principal: Principal, request: EnhanceRequest, settings: Settings
) -> tuple[Job, str]:
    """Add a queued enhancement job and its task id; the caller commits, then publishes."""
    if not (request.enable_summarization or request.enable_entity_extraction):
        raise Invalid("enable at least one of enable_summarization and enable_entity_extraction")
    if request.llm_model and settings.enhancement_provider != "openai":
        raise Invalid(
            "llm_model needs the OpenAI-compatible provider; this server runs the offline one",
            code="llm_model_unavailable",
        )
    if request.webhook_url is not None:
        check_webhook_url(str(request.webhook_url), settings=settings)
    source = jobs.get_job(session, principal=principal, job_id=request.transcription_job_id)
    if source.kind != "transcription":
        raise Invalid(f"job {source.id} is a {source.kind} job, not a transcription")
    if source.status != JobStatus.SUCCEEDED or "json" not in source.result_keys:
        raise Conflict(
            f"transcription job {source.id} is {source.status}; enhance it once it has succeeded",
            code="job_not_finished" if source.status in ("queued", "running") else "no_transcript",
        )
    options: dict[str, Any] = {
        "transcription_job_id": str(source.id),
        "enable_summarization": request.enable_summarization,
        "enable_entity_extraction": request.enable_entity_extraction,
        "provider": settings.enhancement_provider,
        "llm_model": request.llm_model
        or (settings.llm_model if settings.enhancement_provider == "openai" else None),
        "webhook_url": str(request.webhook_url) if request.webhook_url else None,
        "webhook_include_result": request.webhook_include_result,
    }
    check_active_jobs(session, key_id=principal.key_id, settings=settings)  # 429 over the cap
    job = Job(
        id=uuid.uuid4(),
        kind=KIND,
        owner=principal.owner,
        api_key_id=principal.key_id,
        status=JobStatus.QUEUED,
        options=options,
        recording_id=request.recording_id or source.recording_id,
    )
    task_id = prepare_dispatch(job)
    session.add(job)
    session.flush()
    return job, task_id


def get_enhancement(
    session: Session, *, principal: Principal, job_id: uuid.UUID, storage: Storage
) -> tuple[Job, dict[str, Any] | None]:
    """The caller's enhancement job and its result once it has succeeded."""
    job = jobs.get_job(session, principal=principal, job_id=job_id)
    if job.kind != KIND:
        raise NotFound(f"job {job_id} is not an enhancement job")
    key = job.result_keys.get("json") if job.status == JobStatus.SUCCEEDED else None
    if key is None:
        return job, None
    try:
        result = json.loads(storage.get_bytes(key))
    except ObjectNotFound as exc:
        raise NotFound(f"the result of job {job_id} is no longer stored") from exc
    # The names given to the transcription's speakers since (PATCH /jobs/{id}) apply here too.
    names = speakers.names_of_job(
        session, principal=principal, job_id=job.options.get("transcription_job_id")
    )
    return job, speakers.apply_speaker_names(result, names)


def list_enhancements(
    session: Session, *, principal: Principal, transcription_job_id: uuid.UUID, limit: int
) -> list[Job]:
    """The caller's enhancement jobs of one transcription, newest first."""
    query = (
        select(Job)
        .where(
            Job.owner == principal.owner,
            Job.kind == KIND,
            Job.deleted_at.is_(None),
            Job.options["transcription_job_id"].as_string() == str(transcription_job_id),
        )
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
