"""Enhancement jobs: created on a finished transcription, run like any other job."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.quotas import check_active_jobs
from app.auth.service import Principal
from app.config import Settings
from app.enhance.schemas import EnhanceRequest
from app.errors import (
    Conflict,
    DomainError,
    Invalid,
    InvalidRequest,
    NotFound,
    Problem,
    schema_problems,
    sound_values,
)
from app.jobs import service as jobs
from app.jobs import speakers
from app.jobs.dispatch import prepare_dispatch
from app.models import Job, JobStatus
from app.storage import ObjectNotFound, Storage
from app.webhooks.destinations import check_webhook_url

KIND = "enhancement"


def enhancement_problems(values: Mapping[str, Any], *, settings: Settings) -> list[Problem]:
    """Every server-side problem of an enhancement request (its schema-valid fields)."""
    problems: list[Problem] = []
    summary = values.get("enable_summarization", True)
    if not (summary or values.get("enable_entity_extraction", True)):
        problems.append(
            Problem(
                "",
                "nothing_to_do",
                "enable at least one of enable_summarization and enable_entity_extraction",
            )
        )
    if values.get("llm_model") and settings.enhancement_provider != "openai":
        problems.append(
            Problem(
                "llm_model",
                "llm_model_unavailable",
                f"llm_model {values['llm_model']!r} needs the OpenAI-compatible provider "
                "(ENHANCEMENT_PROVIDER=openai); this server runs the offline one: leave "
                "llm_model out",
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


def check_enhance_request(data: Any, *, settings: Settings) -> EnhanceRequest:
    """Validate an enhancement request and run the server-side checks; InvalidRequest (a 422)
    lists every problem. Resolves the webhook's host: call it from a worker thread."""
    try:
        request = EnhanceRequest.model_validate(data)
        values: dict[str, Any] = dict(request)
        problems: list[Problem] = []
    except ValidationError as exc:
        request = None
        problems = schema_problems(exc.errors())
        values = sound_values(EnhanceRequest, data, exc.errors())
    problems.extend(enhancement_problems(values, settings=settings))
    if problems:
        raise InvalidRequest(problems)
    assert request is not None
    return request


def create_enhancement(
    session: Session,
    *,
    principal: Principal,
    request: EnhanceRequest,
    settings: Settings,
    checked: bool = False,
) -> tuple[Job, str]:
    """Add a queued enhancement job and its task id; the caller commits, then publishes.

    `checked`: the request already passed `check_enhance_request`.
    """
    if not checked and (problems := enhancement_problems(dict(request), settings=settings)):
        raise InvalidRequest(problems)
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
