"""The webhook outbox: a delivery row is written in the transaction that gives a job its final
state, and its message is sent only after that transaction commits.

Final states are written in several places (the worker, cancel and delete in the API, the
reconciler). Each calls `record_job_event` beside its UPDATE; a session `after_commit` hook then
sends what was recorded, so no caller can publish before its commit or forget to publish after
it. A message lost on the way is found again by the sweeper (`app.webhooks.sweep`).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app import tasknames
from app.config import get_settings
from app.models import TERMINAL_STATUSES, Job, JobStatus, WebhookDelivery, utcnow

log = logging.getLogger(__name__)

_AFTER_COMMIT = "scribe.webhooks.after_commit"

# The event prefix of each job kind ("job.succeeded", "enhancement.failed", ...).
EVENT_PREFIX: dict[str, str] = {"transcription": "job", "enhancement": "enhancement"}


def event_type(kind: str, status: str) -> str:
    """The Standard Webhooks event type of a job that ended in `status`."""
    return f"{EVENT_PREFIX.get(kind, 'job')}.{status}"


def _links(job: Job, base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    job_path = f"{base}/api/v1/jobs/{job.id}"
    links: dict[str, Any] = {"job": job_path, "webhooks": f"{job_path}/webhooks"}
    if job.kind == "enhancement":
        links["result"] = f"{base}/api/v1/enhanced-ai/{job.id}"
        source = job.options.get("transcription_job_id")
        if source:
            links["transcription_job"] = f"{base}/api/v1/jobs/{source}"
    elif job.status == JobStatus.SUCCEEDED:
        links["transcript"] = {
            fmt: f"{job_path}/transcript?format={fmt}" for fmt in sorted(job.result_keys)
        }
    return links


def build_payload(job: Job, *, base_url: str) -> dict[str, Any]:
    """The event as a receiver sees it: ids, status, error and links, not the whole result."""
    error = None
    if job.status != JobStatus.SUCCEEDED and job.error_code:
        error = {"code": job.error_code, "message": job.error_message or ""}
    data: dict[str, Any] = {
        "job_id": str(job.id),
        "kind": job.kind,
        "status": job.status,
        "recording_id": job.recording_id,
        "error": error,
        "created_at": job.created_at.isoformat(),
        "finished_at": (job.finished_at or utcnow()).isoformat(),
        "links": _links(job, base_url),
    }
    if job.kind == "enhancement":
        data["transcription_job_id"] = job.options.get("transcription_job_id")
    return {
        "type": event_type(job.kind, job.status),
        "timestamp": data["finished_at"],
        "data": data,
    }


def new_task_id(delivery_id: uuid.UUID) -> str:
    """A fresh message id for one send of a delivery (recorded before the send)."""
    return f"webhook.{delivery_id}.{uuid.uuid4().hex[:12]}"


def send_after_commit(session: Session, delivery: WebhookDelivery) -> None:
    """Give the delivery a fresh task id now; its message goes out when `session` commits."""
    task_id = new_task_id(delivery.id)
    delivery.task_id = task_id
    delivery.enqueued_at = utcnow()
    session.info.setdefault(_AFTER_COMMIT, []).append((delivery.id, task_id))


def record_job_event(session: Session, *, job_id: uuid.UUID) -> WebhookDelivery | None:
    """Add the delivery of the job's final event, if it has a webhook URL (caller commits)."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.status not in TERMINAL_STATUSES:
        return None
    url = job.options.get("webhook_url")
    if not url:
        return None
    kind = event_type(job.kind, job.status)
    exists = session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.job_id == job.id, WebhookDelivery.event_type == kind
        )
    )
    if exists is not None:  # a job ends once; this only guards against a repeated call
        return None
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        job_id=job.id,
        owner=job.owner,
        api_key_id=job.api_key_id,
        message_id=f"msg_{uuid.uuid4().hex}",
        event_type=kind,
        url=str(url),
        payload=build_payload(job, base_url=get_settings().public_base_url),
        include_result=bool(job.options.get("webhook_include_result")),
        next_attempt_at=utcnow(),
    )
    session.add(delivery)
    send_after_commit(session, delivery)
    session.flush()
    return delivery


def publish_delivery(delivery_id: uuid.UUID, task_id: str) -> bool:
    """Send one delivery message; False if the broker refused (the sweeper sends it later)."""
    from app.celery_app import celery_app

    try:
        celery_app.send_task(
            tasknames.DELIVER_WEBHOOK,
            args=[str(delivery_id)],
            task_id=task_id,
            queue=tasknames.QUEUE_DEFAULT,
            routing_key=tasknames.QUEUE_DEFAULT,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception as exc:
        log.warning("could not send webhook delivery %s (will be resent): %s", delivery_id, exc)
        return False
    return True


@event.listens_for(Session, "after_commit")
def _publish_recorded(session: Session) -> None:
    for delivery_id, task_id in session.info.pop(_AFTER_COMMIT, ()):
        publish_delivery(delivery_id, task_id)


@event.listens_for(Session, "after_rollback")
def _forget_recorded(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def forget_results(session: Session, *, job_id: uuid.UUID) -> None:
    """Drop stored webhook bodies that carry the job's result (the job is being deleted)."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.job_id == job_id, WebhookDelivery.include_result.is_(True))
        .values(body=None)
        .execution_options(synchronize_session=False)
    )
