"""Delivering one webhook attempt: claim the delivery, sign, POST, record what happened.

No session is held during the HTTP call. The claim is a conditional UPDATE with a lease (like a
job's), so a duplicate message or a second worker never sends the same attempt twice; an attempt
whose worker died is noticed when its lease runs out and is recorded as lost.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import update
from sqlalchemy.orm import Session

from app import __version__
from app.config import Settings, get_settings
from app.db import session_scope
from app.models import DeliveryStatus, Job, WebhookAttempt, WebhookDelivery, utcnow
from app.netguard import BlockedDestination, guarded_stream
from app.ops.metrics import record_webhook_delivery
from app.storage import ObjectNotFound, get_storage
from app.webhooks.signing import active_secrets, signature_headers

log = logging.getLogger(__name__)

# An attempt whose outcome is not recorded within twice the HTTP timeout (plus this) was lost
# with its worker; the sweeper then sends the delivery again.
LEASE_SLACK_SECONDS = 5
EXCERPT_BYTES = 300
USER_AGENT = f"ScribeRabbit-Webhooks/{__version__}"


@dataclass(frozen=True)
class DeliveryClaim:
    """What one attempt needs, read once so no session is held during the HTTP call."""

    delivery_id: uuid.UUID
    token: str
    attempt: int
    url: str
    message_id: str
    body: str
    secrets: list[str]


@dataclass(frozen=True)
class HttpOutcome:
    """What the receiver did with one attempt."""

    status_code: int | None
    latency_ms: float
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _result_of(session: Session, job_id: uuid.UUID) -> Any:
    job = session.get(Job, job_id)
    key = (job.result_keys or {}).get("json") if job is not None else None
    if not key:
        return None
    try:
        return json.loads(get_storage().get_bytes(key))
    except (ObjectNotFound, ValueError):
        return None


def build_body(session: Session, delivery: WebhookDelivery) -> str:
    """The exact bytes every attempt of this delivery signs and sends."""
    payload = dict(delivery.payload)
    if delivery.include_result:
        payload["data"] = {**payload["data"], "result": _result_of(session, delivery.job_id)}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def claim_delivery(
    session: Session, *, delivery_id: uuid.UUID, settings: Settings
) -> DeliveryClaim | None:
    """Take the next attempt of a due delivery; None when it is not due, taken or finished."""
    now = utcnow()
    row = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if (
        row is None
        or row.status != DeliveryStatus.PENDING
        or (row.next_attempt_at is not None and row.next_attempt_at > now)
        or (row.lease_expires_at is not None and row.lease_expires_at >= now)
    ):
        session.rollback()
        return None
    lost_attempt = row.claim_token is not None  # claimed before, and its outcome never came
    body = row.body if row.body is not None else build_body(session, row)
    token = uuid.uuid4().hex
    lease = now + timedelta(seconds=2 * settings.webhook_timeout_seconds + LEASE_SLACK_SECONDS)
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.attempts == row.attempts,  # the attempt count is the row's version
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(
            attempts=row.attempts + 1,
            claim_token=token,
            lease_expires_at=lease,
            body=body,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    if lost_attempt:
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id,
                number=row.attempts,
                started_at=row.updated_at,
                error="The worker stopped during this attempt; no answer was recorded.",
                outcome="retry",
            )
        )
    secrets_ = active_secrets(session, api_key_id=row.api_key_id, now=now) if row.api_key_id else []
    claim = DeliveryClaim(
        delivery_id=delivery_id,
        token=token,
        attempt=row.attempts + 1,
        url=row.url,
        message_id=row.message_id,
        body=body,
        secrets=secrets_,
    )
    session.commit()
    return claim


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _classify(status: int, excerpt: str, retry_after: float | None, latency: float) -> HttpOutcome:
    if 200 <= status < 300:
        return HttpOutcome(status, latency)
    detail = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    if 300 <= status < 400:
        return HttpOutcome(status, latency, f"{detail} (redirects are not followed)", retry_after)
    # 4xx means "this request will never be accepted", except timeouts and rate limits.
    permanent = 400 <= status < 500 and status not in (408, 429)
    return HttpOutcome(status, latency, detail, retry_after, permanent)


def send_webhook_request(
    url: str, *, body: str, headers: dict[str, str], settings: Settings
) -> HttpOutcome:
    """POST one signed webhook. Every webhook HTTP call goes through here, so the outbound guard
    applies in this one place."""
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    started = time.perf_counter()
    try:
        with guarded_stream(
            "POST",
            url,
            settings=settings,
            headers=headers,
            content=body.encode(),
            timeout=timeout,
            follow_redirects=False,
        ) as response:
            raw = b""
            for chunk in response.iter_bytes():
                raw += chunk
                if len(raw) >= EXCERPT_BYTES:
                    break
            latency = (time.perf_counter() - started) * 1000
            excerpt = raw[:EXCERPT_BYTES].decode("utf-8", "replace").strip()
            retry_after = _retry_after(response.headers.get("retry-after"), utcnow())
            return _classify(response.status_code, excerpt, retry_after, latency)
    except BlockedDestination as exc:  # e.g. its name now resolves to a private address
        latency = (time.perf_counter() - started) * 1000
        return HttpOutcome(None, latency, f"Destination refused: {exc.reason}", permanent=True)
    except httpx.TimeoutException:
        latency = (time.perf_counter() - started) * 1000
        return HttpOutcome(None, latency, f"timed out after {settings.webhook_timeout_seconds} s")
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - started) * 1000
        return HttpOutcome(None, latency, f"{type(exc).__name__}: {exc}")


def record_attempt(
    session: Session,
    *,
    claim: DeliveryClaim,
    outcome: HttpOutcome,
    started_at: datetime,
    settings: Settings,
) -> str:
    """Write the attempt and what follows from it: delivered, a retry when due, or given up."""
    now = utcnow()
    row = session.get(WebhookDelivery, claim.delivery_id, populate_existing=True)
    if row is None or row.claim_token != claim.token:
        return "lost"  # our lease ran out and another attempt took over
    values: dict[str, Any] = {
        "claim_token": None,
        "lease_expires_at": None,
        "task_id": None,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
        "updated_at": now,
    }
    schedule = settings.webhook_retry_schedule
    if outcome.delivered:
        result = "delivered"
        values |= {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif outcome.permanent or row.schedule_step >= len(schedule):
        result = "gave_up"
        values |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
    else:
        result = "retry"
        delay = schedule[row.schedule_step]
        if outcome.retry_after is not None:
            delay = max(delay, min(outcome.retry_after, settings.webhook_max_retry_after_seconds))
        values |= {
            "schedule_step": row.schedule_step + 1,
            "next_attempt_at": now + timedelta(seconds=delay),
        }
    done = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == claim.delivery_id, WebhookDelivery.claim_token == claim.token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return "lost"
    session.add(
        WebhookAttempt(
            delivery_id=claim.delivery_id,
            number=claim.attempt,
            started_at=started_at,
            status_code=outcome.status_code,
            latency_ms=round(outcome.latency_ms, 1),
            error=outcome.error,
            outcome=result,
        )
    )
    session.flush()
    return result


def deliver(delivery_id: uuid.UUID) -> str:
    """Make one attempt of a delivery; returns what happened (for logs and tests)."""
    settings = get_settings()
    with session_scope() as session:
        claim = claim_delivery(session, delivery_id=delivery_id, settings=settings)
    if claim is None:
        log.info("webhook delivery %s not due or already handled", delivery_id)
        return "skipped"
    started_at = utcnow()
    if claim.secrets:
        headers = signature_headers(
            message_id=claim.message_id,
            body=claim.body,
            secrets_=claim.secrets,
            timestamp=started_at,
        )
        headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
        try:
            outcome = send_webhook_request(
                claim.url, body=claim.body, headers=headers, settings=settings
            )
        except SoftTimeLimitExceeded:  # a receiver that drips its answer past every timeout
            outcome = HttpOutcome(None, 0.0, "The attempt ran past its time limit.")
    else:
        outcome = HttpOutcome(
            None, 0.0, "The API key that created the job has no webhook secret.", permanent=True
        )
    with session_scope() as session:
        result = record_attempt(
            session, claim=claim, outcome=outcome, started_at=started_at, settings=settings
        )
    if result != "lost":
        record_webhook_delivery(result, outcome.latency_ms / 1000 if outcome.latency_ms else None)
    log.info(
        "webhook delivery %s attempt %d: %s (%s)",
        delivery_id,
        claim.attempt,
        result,
        outcome.status_code or outcome.error,
    )
    return result
