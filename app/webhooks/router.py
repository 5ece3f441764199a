"""HTTP endpoints of the webhooks domain: a job's deliveries, redelivery, secret rotation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.auth.deps import PrincipalDep
from app.config import get_settings
from app.db import SessionDep
from app.webhooks import service
from app.webhooks.schemas import (
    DeliveryPage,
    RedeliverOut,
    RotatedSecretOut,
    RotateSecretRequest,
    delivery_out,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


@router.get("/jobs/{job_id}/webhooks", response_model=DeliveryPage)
def list_webhooks(job_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> DeliveryPage:
    """The job's webhook deliveries with every attempt (time, status code, latency, error)."""
    rows = service.list_deliveries(session, principal=principal, job_id=job_id)
    return DeliveryPage(data=[delivery_out(d, attempts) for d, attempts in rows])


@router.post("/jobs/{job_id}/webhooks/redeliver", status_code=202, response_model=RedeliverOut)
def redeliver_webhook(
    job_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> RedeliverOut:
    """Send the job's webhook again now, with the same `webhook-id` and body."""
    delivery = service.redeliver(session, principal=principal, job_id=job_id)
    return RedeliverOut(
        id=delivery.id,
        webhook_id=delivery.message_id,
        event=delivery.event_type,
        status=delivery.status,
        next_attempt_at=delivery.next_attempt_at,
    )


@router.post("/webhook-secret/rotate", response_model=RotatedSecretOut)
def rotate_webhook_secret(
    session: SessionDep, principal: PrincipalDep, body: RotateSecretRequest | None = None
) -> RotatedSecretOut:
    """A new webhook secret for the calling key; the old one signs beside it for a while."""
    rotation = service.rotate_key_secret(
        session,
        api_key_id=principal.key_id,
        settings=get_settings(),
        overlap_seconds=body.overlap_seconds if body else None,
    )
    session.commit()
    return RotatedSecretOut(
        webhook_secret=rotation.secret, previous_secrets_expire_at=rotation.previous_expires_at
    )
