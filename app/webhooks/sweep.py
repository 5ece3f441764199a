"""The webhook sweeper (run by beat): PostgreSQL holds every delivery, Redis may lose messages.

It sends each pending delivery that is due and has no message on its way: a retry whose time
has come, a message lost with a flushed or restarted Redis, or an attempt whose worker died
(its lease ran out).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.broker import BrokerSnapshot
from app.config import Settings
from app.models import DeliveryStatus, WebhookDelivery, utcnow
from app.webhooks.outbox import new_task_id

BATCH = 500


@dataclass
class SweepReport:
    """What one pass found; `to_publish` holds (delivery id, task id) to send after commit."""

    due: int = 0
    resent_lost: int = 0
    lost_attempts: int = 0
    to_publish: list[tuple[uuid.UUID, str]] = field(default_factory=list)


def sweep_deliveries(
    session: Session, *, settings: Settings, broker: BrokerSnapshot | None
) -> SweepReport:
    """One pass; the caller commits and then publishes `report.to_publish`."""
    now = utcnow()
    grace = settings.webhook_requeue_after_seconds
    if broker is None:
        grace = max(grace, settings.requeue_unknown_broker_after_seconds)
    cutoff = now - timedelta(seconds=grace)
    report = SweepReport()
    rows = session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at < now),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    for delivery in rows:
        if delivery.lease_expires_at is not None:
            report.lost_attempts += 1  # its worker died mid-attempt; the next claim records it
        elif delivery.task_id is None:
            report.due += 1  # a retry whose time has come
        else:
            # A message was sent: leave it while it may still be on its way or waiting.
            if delivery.enqueued_at is not None and delivery.enqueued_at >= cutoff:
                continue
            if broker is not None and delivery.task_id in broker.task_ids:
                continue
            report.resent_lost += 1
        task_id = new_task_id(delivery.id)
        delivery.task_id = task_id
        delivery.enqueued_at = now
        report.to_publish.append((delivery.id, task_id))
    session.flush()
    return report
