"""Webhook operations the API offers: list a job's deliveries, redeliver, rotate a secret."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.config import MAX_SECRET_OVERLAP_SECONDS, Settings
from app.errors import Conflict, Invalid, NotFound
from app.jobs import service as jobs
from app.models import TERMINAL_STATUSES, DeliveryStatus, WebhookAttempt, WebhookDelivery, utcnow
from app.webhooks import outbox
from app.webhooks.signing import Rotation, rotate_secret


def list_deliveries(
    session: Session, *, principal: Principal, job_id: uuid.UUID
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The job's deliveries (oldest first), each with its attempts in order."""
    job = jobs.get_job(session, principal=principal, job_id=job_id)
    deliveries = list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.job_id == job.id)
            .order_by(WebhookDelivery.created_at)
        )
    )
    out: list[tuple[WebhookDelivery, list[WebhookAttempt]]] = []
    for delivery in deliveries:
        attempts = list(
            session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery.id)
                .order_by(WebhookAttempt.number, WebhookAttempt.started_at)
            )
        )
        out.append((delivery, attempts))
    return out


def redeliver(session: Session, *, principal: Principal, job_id: uuid.UUID) -> WebhookDelivery:
    """Send the job's latest event again now, with the same `webhook-id` and body."""
    job = jobs.get_job(session, principal=principal, job_id=job_id)
    delivery = session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.job_id == job.id)
        .order_by(WebhookDelivery.created_at.desc())
        .limit(1)
    )
    if delivery is None:
        if job.job_status not in TERMINAL_STATUSES:
            raise Conflict(
                f"job {job_id} has not finished; its webhook is sent when it does",
                code="job_not_finished",
            )
        raise NotFound(f"job {job_id} has no webhook (it was created without webhook_url)")
    now = utcnow()
    if delivery.lease_expires_at is not None and delivery.lease_expires_at >= now:
        raise Conflict("an attempt of this webhook is under way", code="delivery_in_progress")
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id, WebhookDelivery.attempts == delivery.attempts)
        .values(
            status=DeliveryStatus.PENDING,
            schedule_step=0,
            next_attempt_at=now,
            claim_token=None,
            lease_expires_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("an attempt of this webhook is under way", code="delivery_in_progress")
    session.refresh(delivery)
    outbox.send_after_commit(session, delivery)
    session.commit()
    return delivery


def rotate_key_secret(
    session: Session, *, api_key_id: uuid.UUID, settings: Settings, overlap_seconds: float | None
) -> Rotation:
    """A new webhook secret for the key; the old one signs beside it for the overlap."""
    overlap = overlap_seconds
    if overlap is None:
        overlap = settings.webhook_secret_overlap_seconds
    if not 0 <= overlap <= MAX_SECRET_OVERLAP_SECONDS:
        raise Invalid(
            f"overlap_seconds must be between 0 and {MAX_SECRET_OVERLAP_SECONDS} (30 days)"
        )
    return rotate_secret(session, api_key_id=api_key_id, overlap=timedelta(seconds=overlap))
