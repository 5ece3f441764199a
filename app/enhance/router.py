"""HTTP endpoints of the enhanced-AI step."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from app.auth.deps import PrincipalDep
from app.auth.service import Principal
from app.config import get_settings
from app.db import SessionDep
from app.enhance import service
from app.enhance.schemas import EnhancementOut, EnhanceRequest
from app.errors import ApiError
from app.jobs.dispatch import publish_job
from app.jobs.schemas import JobOut, JobPage, job_out
from app.ops.metrics import record_job_submitted
from app.storage import get_storage

router = APIRouter(prefix="/api/v1", tags=["enhanced-ai"])


_ENHANCE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": EnhanceRequest.model_json_schema()}},
    }
}


def _create(session: Session, principal: Principal, body: EnhanceRequest) -> JobOut:
    job, task_id = service.create_enhancement(
        session, principal=principal, request=body, settings=get_settings(), checked=True
    )
    session.commit()
    publish_job(job.id, job.kind, task_id)
    record_job_submitted(job.kind)
    return job_out(job)


@router.post("/enhanced-ai", status_code=202, response_model=JobOut, openapi_extra=_ENHANCE_BODY)
async def create_enhancement(
    request: Request, response: Response, session: SessionDep, principal: PrincipalDep
) -> JobOut:
    """Queue a summary and entity extraction of a succeeded transcription (a job of its own)."""
    try:
        data = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    # Schema, model and webhook checks together, so one 422 lists every problem.
    body = await run_in_threadpool(service.check_enhance_request, data, settings=get_settings())
    out = await run_in_threadpool(_create, session, principal, body)
    response.headers["Location"] = f"/api/v1/enhanced-ai/{out.id}"
    return out


@router.get("/enhanced-ai", response_model=JobPage)
def list_enhancements(
    session: SessionDep,
    principal: PrincipalDep,
    transcription_job_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JobPage:
    """Your enhancement jobs of one transcription, newest first."""
    found = service.list_enhancements(
        session, principal=principal, transcription_job_id=transcription_job_id, limit=limit
    )
    return JobPage(data=[job_out(j) for j in found], next_cursor=None)


@router.get("/enhanced-ai/{job_id}", response_model=EnhancementOut)
def get_enhancement(
    job_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> EnhancementOut:
    """An enhancement job's status and, once it has succeeded, its result."""
    job, result = service.get_enhancement(
        session, principal=principal, job_id=job_id, storage=get_storage()
    )
    return EnhancementOut(job=job_out(job), result=result)
