"""Endpoints for reading a finished job as a person does: naming speakers, playing the recording."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Security
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel

from app.auth.deps import PrincipalDep, api_key_header, bearer_token, current_principal
from app.auth.quotas import check_request_rate
from app.auth.service import Principal
from app.config import get_settings
from app.db import SessionDep
from app.errors import NotFound
from app.jobs import audio, speakers
from app.jobs.schemas import JobOut, JobUpdate, job_out
from app.jobs.service import get_job
from app.storage import get_storage
from app.storage.local import LocalStorage

router = APIRouter(prefix="/api/v1", tags=["jobs"])


class AudioLink(BaseModel):
    url: str
    expires_at: datetime
    media_type: str
    needs_api_key: bool = False


@router.patch("/jobs/{job_id}", response_model=JobOut)
def update_job(
    job_id: uuid.UUID,
    body: JobUpdate,
    session: SessionDep,
    principal: PrincipalDep,
) -> JobOut:
    """Name a finished transcription's speakers; every transcript format then uses the names."""
    job = get_job(session, principal=principal, job_id=job_id)
    speakers.set_speaker_names(session, job=job, update=body.speaker_names, storage=get_storage())
    session.commit()
    return job_out(job)


@router.get("/jobs/{job_id}/audio/url", response_model=AudioLink)
def audio_link(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
) -> AudioLink:
    """A short-lived URL that plays the job's uploaded recording without an API key."""
    link = audio.media_link(
        session,
        principal=principal,
        job_id=job_id,
        api_url=str(request.url_for("get_audio", job_id=job_id)),
        settings=get_settings(),
        storage=get_storage(),
    )
    return AudioLink(url=link.url, expires_at=link.expires_at, media_type=link.media_type)


def _audio_principal(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    secret: str | None,
    bearer: HTTPAuthorizationCredentials | None,
    token: str | None,
) -> Principal:
    if not token:
        return current_principal(session, request, secret, bearer)
    principal = audio.principal_from_token(session, token=token, job_id=job_id)
    request.state.rate_limit_headers = check_request_rate(
        session, key_id=principal.key_id, settings=get_settings()
    )
    return principal


@router.get(
    "/jobs/{job_id}/audio",
    response_class=Response,
    responses={
        200: {"content": {"audio/*": {}}, "description": "the uploaded recording as it was sent"},
        206: {"description": "the byte range asked for with `Range`"},
        307: {"description": "object storage serves it: a presigned URL"},
    },
)
def get_audio(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    secret: Annotated[str | None, Security(api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_token)],
    token: Annotated[
        str | None, Query(max_length=200, description="from GET .../audio/url, instead of a key")
    ] = None,
) -> Response:
    """The job's uploaded recording, with byte ranges (an API key, or a token from audio/url)."""
    principal = _audio_principal(job_id, request, session, secret, bearer, token)
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        link = audio.media_link(
            session,
            principal=principal,
            job_id=job_id,
            api_url=str(request.url),
            settings=get_settings(),
            storage=storage,
        )
        session.close()
        return RedirectResponse(link.url, status_code=307)
    job = audio.playable_job(session, principal=principal, job_id=job_id)
    assert job.input_key is not None
    path = storage.local_path(job.input_key)
    filename = job.input_filename or f"{job.id}-recording"
    kind = audio.media_type(job.input_filename)
    session.close()  # nothing is held while the file streams
    if not path.is_file():
        raise NotFound(f"the recording of job {job_id} is no longer stored", code="audio_missing")
    return FileResponse(
        path,
        media_type=kind,
        filename=filename,
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
