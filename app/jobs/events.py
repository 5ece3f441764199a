"""Live job status without polling: a Server-Sent Events stream of one job until it ends.

The stream reads the job row (the truth, written by the worker's heartbeat) in a short session
every JOB_EVENTS_POLL_SECONDS and sends an event whenever status, stage or progress changed,
so it works the same with or without Redis and never holds a database connection while it
waits. The last event carries the final status; then the stream closes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent

from app.auth.deps import PrincipalDep
from app.auth.service import Principal
from app.config import get_settings
from app.db import SessionDep, session_scope
from app.errors import NotFound
from app.jobs import service
from app.jobs.schemas import job_out
from app.models import TERMINAL_STATUSES, JobStatus

router = APIRouter(prefix="/api/v1", tags=["jobs"])

RECONNECT_MS = 2000


@dataclass(frozen=True)
class StreamTarget:
    """A job the caller may watch (checked before the stream starts, so a 404 stays a 404)."""

    job_id: uuid.UUID
    principal: Principal


def streamable_job(job_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> StreamTarget:
    """The caller's job or 404; the request's session is released before streaming starts."""
    service.get_job(session, principal=principal, job_id=job_id)
    session.close()
    return StreamTarget(job_id, principal)


def _snapshot(target: StreamTarget) -> dict[str, Any] | None:
    with session_scope() as session:
        try:
            job = service.get_job(session, principal=target.principal, job_id=target.job_id)
        except NotFound:
            return None
        return job_out(job).model_dump(mode="json")


def _fingerprint(body: dict[str, Any]) -> tuple[Any, ...]:
    return (body["status"], body.get("stage"), body["progress"], body.get("attempts"))


@router.get(
    "/jobs/{job_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`status` events (the job as GET /jobs/{id} shows it) until it ends; "
            "`gone` if the job is deleted meanwhile."
        }
    },
)
async def job_events(
    target: Annotated[StreamTarget, Depends(streamable_job)], request: Request
) -> AsyncIterator[ServerSentEvent]:
    """Stream a job's status and progress as Server-Sent Events until it ends."""
    interval = get_settings().job_events_poll_seconds
    last: tuple[Any, ...] | None = None
    sequence = 0
    while True:
        body = await run_in_threadpool(_snapshot, target)
        if body is None:
            yield ServerSentEvent(event="gone", data={"id": str(target.job_id)}, id=str(sequence))
            return
        if _fingerprint(body) != last:
            last = _fingerprint(body)
            sequence += 1
            yield ServerSentEvent(
                event="status",
                data=body,
                id=str(sequence),
                retry=RECONNECT_MS if sequence == 1 else None,
            )
        if JobStatus(body["status"]) in TERMINAL_STATUSES:
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(interval)
