"""Claims, leases, outcomes and the reconciler, on both PostgreSQL and SQLite.

These run in databases of their own (no worker or beat sees them), so every transition is
observed exactly as the functions leave it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.broker import BrokerSnapshot
from app.config import Settings, get_settings
from app.jobs import state
from app.jobs.dispatch import prepare_dispatch
from app.jobs.reconcile import reconcile
from app.migrate import upgrade_database
from app.models import Job, JobStatus, utcnow
from tests.conftest import ADMIN_URL, TMP

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def state_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{TMP / f'state-{uuid.uuid4().hex[:6]}.db'}"
        upgrade_database(get_settings().model_copy(update={"database_url": url}))
        yield url
        return
    name = f"scribe_state_{uuid.uuid4().hex[:8]}"
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
def session(state_url: str) -> Iterator[Session]:
    engine = create_engine(state_url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as s:
        yield s
    engine.dispose()


@pytest.fixture()
def settings() -> Settings:
    return get_settings().model_copy(
        update={"job_lease_seconds": 30, "max_attempts": 2, "requeue_after_seconds": 10}
    )


def _job(session: Session, **values: object) -> Job:
    job = Job(owner="t", options={}, input_url="http://example.com/a.wav", **values)
    prepare_dispatch(job)
    session.add(job)
    session.commit()
    return job


def _reload(session: Session, job: Job) -> Job:
    session.expire_all()
    fresh = session.get(Job, job.id)
    assert fresh is not None
    return fresh


def test_only_one_of_two_claims_wins(session: Session, settings: Settings) -> None:
    job = _job(session)
    first = state.claim_job(session, job_id=job.id, worker_id="w1", settings=settings)
    second = state.claim_job(session, job_id=job.id, worker_id="w2", settings=settings)
    assert first is not None and second is None
    row = _reload(session, job)
    assert row.status == JobStatus.RUNNING and row.attempts == 1 and row.worker_id == "w1"
    assert row.lease_expires_at is not None and row.lease_expires_at > utcnow()


def test_expired_lease_can_be_reclaimed_and_old_owner_loses(
    session: Session, settings: Settings
) -> None:
    job = _job(session)
    old = state.claim_job(session, job_id=job.id, worker_id="w1", settings=settings)
    assert old is not None
    row = _reload(session, job)
    row.lease_expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    new = state.claim_job(session, job_id=job.id, worker_id="w2", settings=settings)
    assert new is not None and new.attempt == 2
    assert not state.renew_lease(session, claim=old, settings=settings, stage="x", progress=5)
    assert not state.finish_job(session, claim=old, values={})
    session.commit()
    assert state.finish_job(session, claim=new, values={"language": "en"})
    session.commit()
    row = _reload(session, job)
    assert row.status == JobStatus.SUCCEEDED and row.progress == 100 and row.language == "en"


def test_finishing_twice_is_harmless(session: Session, settings: Settings) -> None:
    job = _job(session)
    claim = state.claim_job(session, job_id=job.id, worker_id="w", settings=settings)
    assert claim is not None
    assert state.finish_job(session, claim=claim, values={})
    session.commit()
    assert not state.finish_job(session, claim=claim, values={})
    assert not state.fail_job(session, claim=claim, code="x", message="y")
    session.commit()
    assert _reload(session, job).status == JobStatus.SUCCEEDED


def test_canceled_job_is_never_claimed(session: Session, settings: Settings) -> None:
    job = _job(session, status=JobStatus.CANCELED)
    assert state.claim_job(session, job_id=job.id, worker_id="w", settings=settings) is None


def test_cancel_while_running_stops_the_heartbeat(session: Session, settings: Settings) -> None:
    job = _job(session)
    claim = state.claim_job(session, job_id=job.id, worker_id="w", settings=settings)
    assert claim is not None
    row = _reload(session, job)
    row.status = JobStatus.CANCELED
    session.commit()
    assert not state.renew_lease(session, claim=claim, settings=settings, stage="x", progress=1)
    assert not state.finish_job(session, claim=claim, values={})
    session.commit()
    assert _reload(session, job).status == JobStatus.CANCELED


def _age(session: Session, job: Job, seconds: float) -> None:
    row = _reload(session, job)
    row.enqueued_at = utcnow() - timedelta(seconds=seconds)
    session.commit()


def test_reconciler_leaves_jobs_whose_message_is_alive(
    session: Session, settings: Settings
) -> None:
    job = _job(session)
    _age(session, job, 60)
    task_id = _reload(session, job).task_id
    assert task_id is not None
    report = reconcile(session, settings=settings, broker=BrokerSnapshot(task_ids={task_id}))
    session.commit()
    assert job.id not in [j for j, _, _ in report.to_publish]
    assert _reload(session, job).task_id == task_id


def test_reconciler_resends_jobs_whose_message_is_lost(
    session: Session, settings: Settings
) -> None:
    job = _job(session)
    fresh = _job(session)
    _age(session, job, 60)
    old_task = _reload(session, job).task_id
    report = reconcile(session, settings=settings, broker=BrokerSnapshot())
    session.commit()
    published = {j: t for j, _, t in report.to_publish}
    assert job.id in published and fresh.id not in published  # young jobs get a grace period
    assert _reload(session, job).task_id == published[job.id] != old_task


def test_unreadable_broker_waits_longer_before_resending(
    session: Session, settings: Settings
) -> None:
    job = _job(session)
    _age(session, job, 60)
    report = reconcile(session, settings=settings, broker=None)
    session.commit()
    assert job.id not in {j: t for j, _, t in report.to_publish}
    _age(session, job, settings.requeue_unknown_broker_after_seconds + 1)
    report = reconcile(session, settings=settings, broker=None)
    session.commit()
    assert job.id in {j: t for j, _, t in report.to_publish}


def test_reconciler_requeues_expired_leases_then_gives_up(
    session: Session, settings: Settings
) -> None:
    job = _job(session)
    for attempt in (1, 2):
        claim = state.claim_job(session, job_id=job.id, worker_id="w", settings=settings)
        assert claim is not None and claim.attempt == attempt
        row = _reload(session, job)
        row.lease_expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
        report = reconcile(session, settings=settings, broker=BrokerSnapshot())
        session.commit()
        row = _reload(session, job)
        if attempt == 1:
            assert report.requeued_expired == 1 and row.status == JobStatus.QUEUED
            assert row.error_code == "worker_lost" and row.claim_token is None
        else:
            assert report.failed_exhausted == 1 and row.status == JobStatus.FAILED
            assert row.error_code == "worker_lost" and "2 attempts" in (row.error_message or "")


def test_released_job_that_used_its_attempts_fails_with_last_error(
    session: Session, settings: Settings
) -> None:
    job = _job(session)
    for _ in range(2):
        claim = state.claim_job(session, job_id=job.id, worker_id="w", settings=settings)
        assert claim is not None
        assert state.release_job(session, claim=claim, code="internal_error", message="boom")
        session.commit()
    _age(session, job, 60)
    report = reconcile(session, settings=settings, broker=BrokerSnapshot())
    session.commit()
    row = _reload(session, job)
    assert report.failed_exhausted == 1
    assert row.status == JobStatus.FAILED and row.error_code == "internal_error"
    assert "boom" in (row.error_message or "")
