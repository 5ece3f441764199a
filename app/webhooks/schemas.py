"""Response shapes of the webhooks API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.config import MAX_SECRET_OVERLAP_SECONDS
from app.models import WebhookAttempt, WebhookDelivery


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    status_code: int | None
    latency_ms: float | None
    error: str | None
    outcome: str = Field(description="delivered, retry (another attempt follows) or gave_up")


class DeliveryOut(BaseModel):
    """One event for the job's webhook URL and every attempt to deliver it."""

    id: uuid.UUID
    webhook_id: str = Field(description="The `webhook-id` header, the same on every attempt")
    event: str
    url: str
    status: str = Field(description="pending, delivered or failed (gave up)")
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime


class DeliveryPage(BaseModel):
    data: list[DeliveryOut]


class RedeliverOut(BaseModel):
    id: uuid.UUID
    webhook_id: str
    event: str
    status: str
    next_attempt_at: datetime | None


class RotateSecretRequest(BaseModel):
    overlap_seconds: float | None = Field(
        None,
        ge=0,
        le=MAX_SECRET_OVERLAP_SECONDS,
        description="How long the old secret keeps signing, at most 30 days (server default if "
        "absent)",
    )


class RotatedSecretOut(BaseModel):
    webhook_secret: str = Field(description="The new `whsec_` secret; shown only this once")
    previous_secrets_expire_at: datetime


def delivery_out(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
    """Present a delivery with its attempts."""
    return DeliveryOut(
        id=delivery.id,
        webhook_id=delivery.message_id,
        event=delivery.event_type,
        url=delivery.url,
        status=delivery.status,
        attempts=[
            AttemptOut(
                number=a.number,
                started_at=a.started_at,
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                error=a.error,
                outcome=a.outcome,
            )
            for a in attempts
        ],
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
    )
