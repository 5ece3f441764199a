"""The outbox, the claim of an attempt, the retry schedule and the sweeper, on PostgreSQL.

These run in a database of their own (no worker or beat sees it), so every row is observed
exactly as the functions leave it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.auth.service import create_key
from app.broker import BrokerSnapshot
from app.config import Settings, get_settings
from app.jobs import state
from app.jobs.dispatch import prepare_dispatch
from app.migrate import upgrade_database
from app.models import (
    DeliveryStatus,
    Job,
    JobStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSecret,
    utcnow,
)
from app.webhooks.delivery import HttpOutcome, claim_delivery, record_attempt
from app.webhooks.signing import active_secrets, rotate_secret
from app.webhooks.sweep import sweep_deliveries
from tests.conftest import ADMIN_URL

pytestmark = pytest.mark.integration

HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture(scope="module")
def db_url() -> Iterator[str]:
    name = f"scribe_outbox_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(get_settings().model_copy(update={"database_url": url}))
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def session(db_url: str) -> Iterator[Session]:
    engine = create_engine(db_url)
    with sessionmaker(bind=engine, expire_on_commit=False)() as s:
        yield s
    engine.dispose()


@pytest.fixture()
def settings() -> Settings:
    return get_settings().model_copy(
        update={
            "webhook_retry_schedule": [5.0, 60.0],
            "webhook_timeout_seconds": 2.0,
            "webhook_max_retry_after_seconds": 600.0,
            "webhook_requeue_after_seconds": 10.0,
        }
    )


def _running_job(session: Session, settings: Settings, **options: object) -> state.Claim:
    key = create_key(session, name="outbox", owner="outbox-tenant").key
    job = Job(
        owner="outbox-tenant",
        api_key_id=key.id,
        options={"webhook_url": HOOK, **options},
        input_url="http://example.com/a.wav",
    )
    prepare_dispatch(job)
    session.add(job)
    session.commit()
    claim = state.claim_job(session, job_id=job.id, worker_id="w", settings=settings)
    assert claim is not None
    return claim


def _deliveries(session: Session, job_id: uuid.UUID) -> list[WebhookDelivery]:
    session.expire_all()
    return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)))


def test_final_state_and_delivery_commit_together(session: Session, settings: Settings) -> None:
    claim = _running_job(session, settings, webhook_include_result=True)
    assert state.finish_job(session, claim=claim, values={"result_keys": {"json": "k"}})
    pending = session.info.get("scribe.webhooks.after_commit")
    assert pending and len(pending) == 1  # sent only once the transaction commits
    session.rollback()
    assert "scribe.webhooks.after_commit" not in session.info
    assert _deliveries(session, claim.job_id) == []
    assert session.get(Job, claim.job_id).status == JobStatus.RUNNING  # type: ignore[union-attr]

    assert state.finish_job(session, claim=claim, values={"result_keys": {"json": "k"}})
    session.commit()
    assert "scribe.webhooks.after_commit" not in session.info  # published after commit
    [delivery] = _deliveries(session, claim.job_id)
    assert delivery.event_type == "job.succeeded" and delivery.status == DeliveryStatus.PENDING
    assert delivery.message_id.startswith("msg_") and delivery.include_result
    data = delivery.payload["data"]
    assert data["job_id"] == str(claim.job_id) and data["status"] == "succeeded"
    json_link = data["links"]["transcript"]["json"]
    assert json_link == f"/api/v1/jobs/{claim.job_id}/transcript?format=json"
    assert delivery.task_id and delivery.task_id.startswith(f"webhook.{delivery.id}.")


def test_failed_and_exhausted_jobs_record_their_event(session: Session, settings: Settings) -> None:
    claim = _running_job(session, settings)
    assert state.fail_job(session, claim=claim, code="invalid_media", message="not audio")
    session.commit()
    [delivery] = _deliveries(session, claim.job_id)
    assert delivery.event_type == "job.failed"
    assert delivery.payload["data"]["error"] == {"code": "invalid_media", "message": "not audio"}
    # A second outcome for the same job is refused, so no second event is recorded.
    assert not state.finish_job(session, claim=claim, values={})
    session.commit()
    assert len(_deliveries(session, claim.job_id)) == 1


def _delivery(session: Session, settings: Settings) -> WebhookDelivery:
    claim = _running_job(session, settings)
    assert state.finish_job(session, claim=claim, values={})
    session.commit()
    [delivery] = _deliveries(session, claim.job_id)
    return delivery


def test_an_attempt_is_claimed_once(session: Session, settings: Settings) -> None:
    delivery = _delivery(session, settings)
    first = claim_delivery(session, delivery_id=delivery.id, settings=settings)
    second = claim_delivery(session, delivery_id=delivery.id, settings=settings)
    assert first is not None and second is None
    assert first.attempt == 1 and first.message_id == delivery.message_id
    secret = session.scalar(
        select(WebhookSecret.secret).where(WebhookSecret.api_key_id == delivery.api_key_id)
    )
    assert first.secrets == [secret]


def test_retry_schedule_retry_after_and_giving_up(session: Session, settings: Settings) -> None:
    delivery = _delivery(session, settings)

    def attempt(outcome: HttpOutcome) -> tuple[str, WebhookDelivery]:
        row = session.get(WebhookDelivery, delivery.id, populate_existing=True)
        assert row is not None
        row.next_attempt_at = utcnow()  # make it due without waiting
        session.commit()
        claim = claim_delivery(session, delivery_id=delivery.id, settings=settings)
        assert claim is not None
        before = utcnow()
        result = record_attempt(
            session, claim=claim, outcome=outcome, started_at=before, settings=settings
        )
        session.commit()
        fresh = session.get(WebhookDelivery, delivery.id, populate_existing=True)
        assert fresh is not None
        return result, fresh

    result, row = attempt(HttpOutcome(500, 12.0, "HTTP 500"))
    assert result == "retry" and row.task_id is None
    assert row.next_attempt_at is not None
    assert timedelta(seconds=4) < row.next_attempt_at - utcnow() <= timedelta(seconds=5)
    result, row = attempt(HttpOutcome(429, 3.0, "HTTP 429", retry_after=300.0))
    assert result == "retry"  # Retry-After (300 s) wins over the schedule (60 s)
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - utcnow() > timedelta(seconds=290)
    result, row = attempt(HttpOutcome(503, 3.0, "HTTP 503"))
    assert result == "gave_up" and row.status == DeliveryStatus.FAILED  # schedule used up
    attempts = session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.number)
    ).all()
    assert [(a.number, a.status_code, a.outcome) for a in attempts] == [
        (1, 500, "retry"),
        (2, 429, "retry"),
        (3, 503, "gave_up"),
    ]


def test_a_4xx_stops_at_once(session: Session, settings: Settings) -> None:
    delivery = _delivery(session, settings)
    claim = claim_delivery(session, delivery_id=delivery.id, settings=settings)
    assert claim is not None
    outcome = HttpOutcome(404, 2.0, "HTTP 404", permanent=True)
    assert (
        record_attempt(
            session, claim=claim, outcome=outcome, started_at=utcnow(), settings=settings
        )
        == "gave_up"
    )
    session.commit()


def test_sweeper_resends_lost_messages_and_dead_attempts(
    session: Session, settings: Settings
) -> None:
    waiting, lost, dead, retry = (_delivery(session, settings) for _ in range(4))
    long_ago = utcnow() - timedelta(seconds=60)
    for row in (waiting, lost, dead, retry):
        row.enqueued_at = long_ago
    retry.task_id = None  # an attempt failed and its retry is due
    session.commit()
    claim = claim_delivery(session, delivery_id=dead.id, settings=settings)
    assert claim is not None
    session.execute(
        text("UPDATE webhook_deliveries SET lease_expires_at = :t WHERE id = :id"),
        {"t": utcnow() - timedelta(seconds=1), "id": dead.id},
    )
    session.commit()

    broker = BrokerSnapshot(task_ids={str(waiting.task_id)})
    report = sweep_deliveries(session, settings=settings, broker=broker)
    session.rollback()  # nothing is published from here; only the report is checked
    sent = {delivery_id for delivery_id, _ in report.to_publish}
    mine = {waiting.id, lost.id, dead.id, retry.id}
    assert sent & mine == {lost.id, dead.id, retry.id}  # the waiting message is left alone

    report = sweep_deliveries(session, settings=settings, broker=broker)
    session.commit()
    again = claim_delivery(session, delivery_id=dead.id, settings=settings)
    assert again is not None and again.attempt == 2
    lost_attempt = session.scalars(
        select(WebhookAttempt).where(WebhookAttempt.delivery_id == dead.id)
    ).one()
    assert lost_attempt.number == 1 and "worker stopped" in (lost_attempt.error or "")


def test_rotation_keeps_the_old_secret_signing_for_the_overlap(session: Session) -> None:
    key = create_key(session, name="rotate", owner="rotate-tenant")
    session.commit()
    rotation = rotate_secret(session, api_key_id=key.key.id, overlap=timedelta(hours=1))
    session.commit()
    assert active_secrets(session, api_key_id=key.key.id) == [rotation.secret, key.webhook_secret]
    later = utcnow() + timedelta(hours=1, seconds=1)
    assert active_secrets(session, api_key_id=key.key.id, now=later) == [rotation.secret]


def test_a_job_the_reconciler_gives_up_on_records_its_event(
    session: Session, settings: Settings
) -> None:
    from app.jobs.reconcile import reconcile

    claim = _running_job(session, settings)
    session.execute(
        text("UPDATE jobs SET attempts = :n, lease_expires_at = :t WHERE id = :id"),
        {"n": settings.max_attempts, "t": utcnow() - timedelta(seconds=1), "id": claim.job_id},
    )
    session.commit()
    report = reconcile(session, settings=settings, broker=BrokerSnapshot())
    session.commit()
    assert report.failed_exhausted >= 1
    [delivery] = _deliveries(session, claim.job_id)
    assert delivery.event_type == "job.failed"
    assert delivery.payload["data"]["error"]["code"] == "worker_lost"
