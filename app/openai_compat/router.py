"""POST /v1/audio/transcriptions and /v1/audio/translations, as OpenAI's API takes and answers
them, so the `openai` client libraries and the tools built on them work against this server
with their base URL set to it and the API key as their bearer token."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from app.auth.deps import PrincipalDep
from app.auth.service import Principal
from app.config import get_settings
from app.db import SessionDep
from app.openai_compat import service
from app.openai_compat.errors import NO_RETRY, OpenAIRoute, openai_error
from app.openai_compat.schemas import RESPONSES, TranscriptionResponse, form_schema
from app.storage import get_storage

router = APIRouter(prefix="/v1", tags=["openai-compatible"], route_class=OpenAIRoute)

MAX_FIELDS = 64
MEDIA_TYPES = {
    "text": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}


async def _answer(
    request: Request, session: Session, principal: Principal, *, task: str
) -> Response:
    settings = get_settings()
    storage = get_storage()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise service.refuse_content_type()
    async with request.form(max_files=1, max_fields=MAX_FIELDS) as form:
        upload = form.get("file")
        fields = [(k, v) for k, v in form.multi_items() if k != "file"]
        call = await run_in_threadpool(
            service.check_audio_call,
            [(k, v) for k, v in fields if isinstance(v, str)],
            task=task,
            has_file=isinstance(upload, UploadFile),
            other_files=[k for k, v in fields if not isinstance(v, str)],
            settings=settings,
        )
        assert isinstance(upload, UploadFile)
        job = await run_in_threadpool(
            service.create_audio_job,
            session,
            principal=principal,
            upload=upload,
            call=call,
            settings=settings,
            storage=storage,
        )
    session.close()  # no connection is held while the job runs
    job_id = job.id
    headers = {"X-Job-Id": str(job_id), "Location": f"/api/v1/jobs/{job_id}"}
    wait = settings.openai_wait_seconds
    deadline = time.monotonic() + wait
    poll = settings.job_events_poll_seconds
    if call.stream:
        events = service.stream_job(
            job_id,
            principal,
            call,
            storage=storage,
            deadline=deadline,
            poll_seconds=poll,
            wait_seconds=wait,
        )
        return StreamingResponse(
            events,
            media_type="text/event-stream",
            headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    ended, state = await service.wait_for_job(
        job_id,
        principal,
        deadline=deadline,
        poll_seconds=poll,
        disconnected=request.is_disconnected,
    )
    if not ended:
        return openai_error(
            504,
            "job_timeout",
            service.timeout_message(job_id, wait),
            headers={**headers, **NO_RETRY},
            job_id=str(job_id),
        )
    if state is None or state.status != "succeeded":
        status, code, message = service.failure(job_id, state)
        return openai_error(
            status, code, message, headers={**headers, **NO_RETRY}, job_id=str(job_id)
        )
    fmt = call.response_format
    if fmt in ("srt", "vtt"):  # the job's own subtitles, as GET /api/v1/jobs/{id}/transcript
        data = await run_in_threadpool(service.read_result, job_id, principal, fmt, storage)
        return Response(data, media_type=MEDIA_TYPES[fmt], headers=headers)
    result = await run_in_threadpool(service.load_result, job_id, principal, storage)
    if fmt == "text":
        return Response(result["text"] + "\n", media_type=MEDIA_TYPES["text"], headers=headers)
    return JSONResponse(service.json_body(result, call), headers=headers)


@router.post(
    "/audio/transcriptions",
    response_model=TranscriptionResponse,
    responses=RESPONSES,
    openapi_extra=form_schema(translation=False),
)
async def create_transcription(
    request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Transcribe a recording as OpenAI's API does (multipart `file`, `model`, `response_format`,
    ...); it runs as a job on the queue and the answer comes when the job ends."""
    return await _answer(request, session, principal, task="transcribe")


@router.post(
    "/audio/translations",
    response_model=TranscriptionResponse,
    responses=RESPONSES,
    openapi_extra=form_schema(translation=True),
)
async def create_translation(
    request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Translate a recording's speech into English as OpenAI's API does; a job like any other."""
    return await _answer(request, session, principal, task="translate")
