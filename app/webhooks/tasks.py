"""Celery tasks of the webhooks domain: thin wrappers that call plain functions."""

from __future__ import annotations

import logging
import uuid

from app import tasknames
from app.celery_app import celery_app
from app.config import get_settings

log = logging.getLogger(__name__)

_settings = get_settings()


@celery_app.task(
    name=tasknames.DELIVER_WEBHOOK,
    soft_time_limit=2 * _settings.webhook_timeout_seconds,
    time_limit=2 * _settings.webhook_timeout_seconds + 5,
)
def deliver_webhook(delivery_id: str) -> str:
    """Make one attempt of a webhook delivery."""
    from app.webhooks.delivery import deliver

    return deliver(uuid.UUID(delivery_id))


@celery_app.task(name=tasknames.SWEEP_WEBHOOKS)
def sweep_webhooks() -> dict[str, int]:
    """Send deliveries that are due: retries, lost messages, attempts of dead workers."""
    from app import broker
    from app.db import session_scope
    from app.webhooks.outbox import publish_delivery
    from app.webhooks.sweep import sweep_deliveries

    settings = get_settings()
    snapshot = broker.snapshot(settings, [tasknames.QUEUE_DEFAULT])
    with session_scope() as session:
        report = sweep_deliveries(session, settings=settings, broker=snapshot)
    for delivery_id, task_id in report.to_publish:
        publish_delivery(delivery_id, task_id)
    if report.resent_lost or report.lost_attempts:
        log.info(
            "webhook sweeper: %d due, %d lost messages resent, %d lost attempts retried",
            report.due,
            report.resent_lost,
            report.lost_attempts,
        )
    return {
        "due": report.due,
        "resent_lost": report.resent_lost,
        "lost_attempts": report.lost_attempts,
    }
