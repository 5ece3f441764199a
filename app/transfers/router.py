"""HTTP endpoints for direct transfers: presigned uploads (and the local backend's own upload
endpoint) and presigned result downloads."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Literal

import anyio.from_thread
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from app.auth.deps import PrincipalDep
from app.config import get_settings
from app.db import SessionDep
from app.errors import ApiError
from app.jobs import service as jobs
from app.models import utcnow
from app.storage import get_storage
from app.transfers import service
from app.transfers.schemas import DownloadLink, UploadOut, UploadReceived, UploadRequest

router = APIRouter(prefix="/api/v1", tags=["transfers"])


class _RequestBody:
    """A blocking file-like view of a request body, read from a worker thread.

    Each read pulls the next chunk from the event loop, so the body goes to storage as it
    arrives and is never held whole (the body size limit still applies while it streams).
    """

    def __init__(self, request: Request) -> None:
        self._chunks = request.stream().__aiter__()
        self._buffer = b""
        self._done = False

    async def _next(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            self._done = True
            return b""

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._buffer += anyio.from_thread.run(self._next)
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


@router.post("/uploads", status_code=201, response_model=UploadOut)
def create_upload(
    body: UploadRequest, request: Request, session: SessionDep, principal: PrincipalDep
) -> UploadOut:
    """Start a direct upload: PUT the file to `upload_url`, then transcribe with `upload_id`."""
    settings = get_settings()
    upload, presigned = service.create_upload(
        session,
        principal=principal,
        filename=body.filename,
        content_type=body.content_type,
        size_bytes=body.size_bytes,
        settings=settings,
        storage=get_storage(),
    )
    session.commit()
    if presigned is None:  # local storage: this API receives the file itself
        url, headers = str(request.url_for("put_upload", upload_id=upload.id)), {}
        if body.content_type:
            headers["Content-Type"] = body.content_type
    else:
        url, headers = presigned.url, presigned.headers
    return UploadOut(
        upload_id=upload.id,
        upload_url=url,
        headers=headers,
        needs_api_key=presigned is None,
        expires_at=upload.expires_at,
        max_bytes=settings.max_upload_bytes,
    )


@router.put("/uploads/{upload_id}", response_model=UploadReceived)
async def put_upload(
    upload_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> UploadReceived:
    """Receive a direct upload's file (local storage; S3 and GCS take it at their own URL)."""
    storage = get_storage()
    if storage.name != "local":
        raise ApiError(
            409,
            "upload_elsewhere",
            "This server stores uploads in object storage: PUT the file to the upload_url "
            "that POST /api/v1/uploads returned.",
        )
    upload = await run_in_threadpool(
        service.get_pending_upload, session, principal=principal, upload_id=upload_id
    )
    key = upload.storage_key
    session.close()  # no connection held while the body streams in
    size = await run_in_threadpool(storage.put_stream, key, _RequestBody(request))  # type: ignore[arg-type]
    if size > get_settings().max_upload_bytes:  # a body the size limit did not stop
        await run_in_threadpool(storage.delete_prefix, key)
        raise service.TooLarge(f"The file is larger than {get_settings().max_upload_bytes} bytes.")
    return UploadReceived(upload_id=upload_id, size_bytes=size)


@router.get("/jobs/{job_id}/transcript/url", response_model=DownloadLink)
def transcript_link(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    format: Literal["json", "txt", "srt", "vtt", "rttm"] = "json",
) -> DownloadLink:
    """A URL for one result file: presigned by S3 or GCS (no API key needed), or this API's."""
    settings = get_settings()
    key = jobs.transcript_key(session, principal=principal, job_id=job_id, fmt=format)
    expires = timedelta(seconds=settings.presigned_url_expires_seconds)
    url = None
    # The stored file has the speaker labels; with names given, the API renders it when read.
    if not jobs.get_job(session, principal=principal, job_id=job_id).speaker_names:
        url = get_storage().presign_download(
            key, expires=expires, filename=f"{job_id}.{format}", content_type=jobs.FORMATS[format]
        )
    if url is None:
        own = request.url_for("get_transcript", job_id=job_id).include_query_params(format=format)
        return DownloadLink(url=str(own), format=format, expires_at=None, needs_api_key=True)
    return DownloadLink(url=url, format=format, expires_at=utcnow() + expires, needs_api_key=False)
