"""HTTP endpoints of the jobs domain: intake, status, listing, cancel, delete, results."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from app.auth.deps import PrincipalDep
from app.auth.service import Principal
from app.config import get_settings
from app.db import SessionDep
from app.errors import ApiError
from app.jobs import service
from app.jobs.dispatch import publish_job
from app.jobs.intake import check_transcription_request
from app.jobs.schemas import (
    JobOut,
    JobPage,
    TranscribeUrlRequest,
    TranscriptionOptions,
    job_out,
)
from app.models import Job, JobStatus
from app.ops.metrics import record_job_submitted
from app.storage import get_storage, input_key

router = APIRouter(prefix="/api/v1", tags=["jobs"])

_OPTION_FIELDS = sorted(TranscriptionOptions.model_fields)
_TRANSCRIBE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": TranscribeUrlRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        **{name: {"type": "string"} for name in _OPTION_FIELDS},
                    },
                }
            },
        },
    }
}


def _commit_and_publish(session: Session, job: Job, task_id: str) -> Job:
    session.commit()
    record_job_submitted(job.kind)
    publish_job(job.id, job.kind, task_id)
    return job


def _create_from_url(session: Session, principal: Principal, body: TranscribeUrlRequest) -> Job:
    settings = get_settings()
    options = TranscriptionOptions.model_validate(body.model_dump(exclude={"url", "upload_id"}))
    job_id = None
    if body.upload_id is not None:  # a direct upload: its object is already in storage
        from app.transfers import service as transfers

        job_id, source = transfers.take_upload(
            session,
            principal=principal,
            upload_id=body.upload_id,
            settings=settings,
            storage=get_storage(),
        )
    else:
        assert body.url is not None  # checked by the URL guard in check_transcription_request
        source = service.JobInputSpec(input_url=body.url)
    job, task_id = service.create_job(
        session,
        principal=principal,
        options=options,
        source=source,
        settings=settings,
        job_id=job_id,
        checked=True,
    )
    return _commit_and_publish(session, job, task_id)


def _create_from_upload(
    session: Session, principal: Principal, upload: UploadFile, options: TranscriptionOptions
) -> Job:
    settings = get_settings()  # the options were checked before anything is stored
    storage = get_storage()
    job_id = uuid.uuid4()
    key = input_key(job_id)
    size = storage.put_stream(key, upload.file)
    if size == 0:
        storage.delete_prefix(key)
        raise ApiError(422, "empty_file", "The uploaded file is empty.")
    try:
        job, task_id = service.create_job(
            session,
            principal=principal,
            options=options,
            source=service.JobInputSpec(
                input_key=key, filename=(upload.filename or "")[:255] or None, size_bytes=size
            ),
            settings=settings,
            job_id=job_id,
            checked=True,
        )
        return _commit_and_publish(session, job, task_id)
    except BaseException:
        storage.delete_prefix(key)
        raise


@router.post("/transcribe", status_code=202, response_model=JobOut, openapi_extra=_TRANSCRIBE_BODY)
async def transcribe(
    request: Request, response: Response, session: SessionDep, principal: PrincipalDep
) -> JobOut:
    """Queue a transcription of an uploaded file (multipart `file`), a `url` or an `upload_id`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
        body = await run_in_threadpool(
            check_transcription_request, data, TranscribeUrlRequest, settings=get_settings()
        )
        job = await run_in_threadpool(_create_from_url, session, principal, body)
    elif content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=len(_OPTION_FIELDS) + 1) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(
                    422, "missing_file", "Send the recording in a multipart field 'file'."
                )
            fields = {k: v for k, v in form.multi_items() if k != "file" and v != ""}
            options = await run_in_threadpool(
                check_transcription_request, fields, TranscriptionOptions, settings=get_settings()
            )
            job = await run_in_threadpool(_create_from_upload, session, principal, upload, options)
    else:
        raise ApiError(
            415,
            "unsupported_content_type",
            "Send multipart/form-data with a 'file' field, or application/json with a 'url' "
            "or an 'upload_id'.",
        )
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job_out(job)


@router.get("/jobs", response_model=JobPage)
def list_jobs(
    session: SessionDep,
    principal: PrincipalDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> JobPage:
    """List your jobs, newest first, optionally by status."""
    jobs, next_cursor = service.list_jobs(
        session, principal=principal, status=status, limit=limit, cursor=cursor
    )
    return JobPage(data=[job_out(j) for j in jobs], next_cursor=next_cursor)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> JobOut:
    """Status, progress and outcome of one job."""
    return job_out(service.get_job(session, principal=principal, job_id=job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> JobOut:
    """Cancel a queued or running job."""
    return job_out(service.cancel_job(session, principal=principal, job_id=job_id))


@router.delete("/jobs/{job_id}", status_code=204)
def delete_job(job_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    """Delete a job with its audio and results (a running job is stopped first)."""
    service.delete_job(session, principal=principal, job_id=job_id, storage=get_storage())
    return Response(status_code=204)


@router.get(
    "/jobs/{job_id}/transcript",
    responses={200: {"content": {mt: {} for mt in service.FORMATS.values()}}},
)
def get_transcript(
    job_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    format: Literal["json", "txt", "srt", "vtt", "rttm"] = "json",
) -> Response:
    """The transcript of a succeeded job as JSON, plain text, SRT, WebVTT or RTTM."""
    data = service.read_transcript(
        session, principal=principal, job_id=job_id, fmt=format, storage=get_storage()
    )
    headers = {}
    if format != "json":
        headers["Content-Disposition"] = f'inline; filename="{job_id}.{format}"'
    return Response(content=data, media_type=service.FORMATS[format], headers=headers)
