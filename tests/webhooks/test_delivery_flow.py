"""Webhooks end to end: a real worker and beat deliver to a receiver on 127.0.0.1 that verifies
every request with the `standardwebhooks` reference library."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import REDIS_URL, SHARED_DATA, CeleryProcess, Tenant, upload, wait_for_job
from tests.webhooks.receiver import WebhookReceiver

pytestmark = pytest.mark.integration


def _webhooks(client: Any, key: str, job_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/jobs/{job_id}/webhooks", headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _wait_for_delivery(
    client: Any, key: str, job_id: str, *, status: str = "delivered", timeout: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    hooks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        hooks = _webhooks(client, key, job_id)
        if hooks and hooks[0]["status"] == status:
            return hooks[0]
        time.sleep(0.3)
    raise AssertionError(f"webhook of job {job_id} not {status} in {timeout} s: {hooks}")


def _job_to_stop(client: Any, key: str, **options: Any) -> dict[str, Any]:
    """A job that cannot finish before the test cancels or deletes it (jfk takes seconds)."""
    return upload(client, key, SHARED_DATA / "jfk.flac", **options)


def _cancel(client: Any, key: str, job_id: str) -> None:
    response = client.post(f"/api/v1/jobs/{job_id}/cancel", headers={"X-API-Key": key})
    assert response.status_code == 200, response.text


@pytest.mark.slow
def test_webhook_survives_errors_and_a_timeout_and_is_processed_once(
    client: Any,
    tenant: Tenant,
    receiver: WebhookReceiver,
    worker: CeleryProcess,
    beat: CeleryProcess,
) -> None:
    receiver.script.extend([500, 500, "timeout"])
    job = upload(
        client,
        tenant.key,
        SHARED_DATA / "jfk.flac",
        webhook_url=receiver.url,
        recording_id="jfk-hook",
    )
    done = wait_for_job(client, tenant.key, job["id"])
    assert done["status"] == "succeeded", done
    delivery = _wait_for_delivery(client, tenant.key, job["id"])

    requests = receiver.wait_for(4)
    time.sleep(2)  # nothing more may arrive
    assert len(receiver.requests) == 4
    assert all(r.verified for r in requests), [r.error for r in requests]
    assert {r.webhook_id for r in requests} == {delivery["webhook_id"]}
    assert len({r.body for r in requests}) == 1  # the same bytes every time
    assert len({r.headers["webhook-timestamp"] for r in requests}) >= 2  # re-signed each time
    assert list(receiver.processed) == [delivery["webhook_id"]]  # the client's logic ran once

    event = receiver.processed[delivery["webhook_id"]]
    assert event["type"] == "job.succeeded"
    data = event["data"]
    assert data["job_id"] == job["id"] and data["status"] == "succeeded"
    assert data["recording_id"] == "jfk-hook" and data["error"] is None
    assert data["links"]["transcript"]["srt"] == f"/api/v1/jobs/{job['id']}/transcript?format=srt"
    assert "result" not in data  # links, not the whole transcript, unless asked for

    attempts = delivery["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 500, None, 200]
    assert [a["outcome"] for a in attempts] == ["retry", "retry", "retry", "delivered"]
    assert "timed out" in attempts[2]["error"] and attempts[0]["error"].startswith("HTTP 500")
    assert all(a["latency_ms"] > 0 for a in attempts)
    assert attempts[2]["latency_ms"] >= 1900
    assert delivery["event"] == "job.succeeded" and delivery["url"] == receiver.url

    # Redelivery: the same webhook-id and body again; the receiver does not process it twice.
    response = client.post(
        f"/api/v1/jobs/{job['id']}/webhooks/redeliver", headers={"X-API-Key": tenant.key}
    )
    assert response.status_code == 202, response.text
    assert response.json()["webhook_id"] == delivery["webhook_id"]
    again = receiver.wait_for(5)[-1]
    assert again.verified and again.webhook_id == delivery["webhook_id"]
    assert again.body == requests[0].body
    assert list(receiver.processed) == [delivery["webhook_id"]]
    redelivered = _wait_for_delivery(client, tenant.key, job["id"])
    assert len(redelivered["attempts"]) == 5


def test_retry_after_is_honoured_and_a_4xx_stops(
    client: Any,
    tenant: Tenant,
    receiver: WebhookReceiver,
    worker: CeleryProcess,
    beat: CeleryProcess,
) -> None:
    receiver.script.extend([(429, {"Retry-After": "4"}), 410])
    job = _job_to_stop(client, tenant.key, webhook_url=receiver.url)
    _cancel(client, tenant.key, job["id"])
    delivery = _wait_for_delivery(client, tenant.key, job["id"], status="failed")
    requests = receiver.wait_for(2)
    time.sleep(2)
    assert len(receiver.requests) == 2  # 410 Gone: no more attempts
    assert requests[1].at - requests[0].at >= 3.9  # not before Retry-After
    assert [a["status_code"] for a in delivery["attempts"]] == [429, 410]
    assert [a["outcome"] for a in delivery["attempts"]] == ["retry", "gave_up"]
    assert delivery["last_error"].startswith("HTTP 410")
    event = requests[0].payload()
    assert event["type"] == "job.canceled" and event["data"]["error"]["code"] == "canceled"


def test_deliveries_survive_a_killed_worker_and_a_flushed_redis(
    client: Any,
    tenant: Tenant,
    receiver: WebhookReceiver,
    worker: CeleryProcess,
    beat: CeleryProcess,
) -> None:
    import redis

    # Every first attempt fails; the fourth request hangs while the worker is killed.
    receiver.script.extend([500, 500, 500, "timeout"])
    jobs = [_job_to_stop(client, tenant.key, webhook_url=receiver.url) for _ in range(3)]
    for job in jobs:
        _cancel(client, tenant.key, job["id"])
    receiver.wait_for(4)
    worker.kill()  # mid-attempt: its outcome is never recorded
    redis.Redis.from_url(REDIS_URL).flushall()  # and every message is gone
    worker.start()

    deliveries = [_wait_for_delivery(client, tenant.key, job["id"]) for job in jobs]
    ids = {d["webhook_id"] for d in deliveries}
    assert len(ids) == 3
    assert set(receiver.processed) == ids  # every delivery made, each processed once
    assert all(r.verified for r in receiver.requests)
    lost = [a for d in deliveries for a in d["attempts"] if "worker stopped" in (a["error"] or "")]
    assert len(lost) == 1
    for d in deliveries:
        assert d["attempts"][0]["status_code"] == 500
        assert d["attempts"][-1]["status_code"] == 200
        numbers = [a["number"] for a in d["attempts"]]
        assert numbers == list(range(1, len(numbers) + 1))


def test_deleting_an_unfinished_job_sends_job_canceled(
    client: Any,
    tenant: Tenant,
    receiver: WebhookReceiver,
    worker: CeleryProcess,
    beat: CeleryProcess,
) -> None:
    job = _job_to_stop(client, tenant.key, webhook_url=receiver.url)
    deleted = client.delete(f"/api/v1/jobs/{job['id']}", headers={"X-API-Key": tenant.key})
    assert deleted.status_code == 204
    [request] = receiver.wait_for(1)
    assert request.verified
    event = request.payload()
    assert event["type"] == "job.canceled" and event["data"]["job_id"] == job["id"]
    assert event["data"]["error"]["code"] == "canceled"


def test_webhook_api_refusals(client: Any, tenant: Tenant, make_key: Any) -> None:
    headers = {"X-API-Key": tenant.key}
    plain = _job_to_stop(client, tenant.key)
    early = client.post(f"/api/v1/jobs/{plain['id']}/webhooks/redeliver", headers=headers)
    assert early.status_code in (404, 409)
    _cancel(client, tenant.key, plain["id"])
    none = client.post(f"/api/v1/jobs/{plain['id']}/webhooks/redeliver", headers=headers)
    assert none.status_code == 404 and "without webhook_url" in none.json()["error"]["message"]
    assert _webhooks(client, tenant.key, plain["id"]) == []
    other = {"X-API-Key": make_key()}
    assert client.get(f"/api/v1/jobs/{plain['id']}/webhooks", headers=other).status_code == 404
    bad = client.post(
        "/api/v1/transcribe",
        headers=headers,
        json={"url": "http://127.0.0.1:9/a.wav", "webhook_url": "ftp://example.com/x"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_rotating_the_secret_over_the_api(client: Any, tenant: Tenant) -> None:
    from standardwebhooks import Webhook

    from app.models import utcnow
    from app.webhooks.signing import signature_headers

    response = client.post(
        "/api/v1/webhook-secret/rotate",
        headers={"X-API-Key": tenant.key},
        json={"overlap_seconds": 3600},
    )
    assert response.status_code == 200, response.text
    new = response.json()["webhook_secret"]
    assert new.startswith("whsec_") and new != tenant.webhook_secret
    from app.db import session_scope
    from app.webhooks.signing import active_secrets

    with session_scope() as session:
        signing = active_secrets(session, api_key_id=tenant.key_id)
    assert signing == [new, tenant.webhook_secret]
    headers = signature_headers(message_id="msg_x", body="{}", secrets_=signing, timestamp=utcnow())
    assert Webhook(tenant.webhook_secret).verify("{}", headers) == {}
    assert Webhook(new).verify("{}", headers) == {}


@pytest.mark.parametrize("overlap", [-1, 30 * 86400 + 1, 7.7e307])
def test_an_overlap_out_of_range_is_refused(client: Any, tenant: Tenant, overlap: float) -> None:
    response = client.post(
        "/api/v1/webhook-secret/rotate",
        headers={"X-API-Key": tenant.key},
        json={"overlap_seconds": overlap},
    )
    assert response.status_code == 422, response.text
    assert "overlap_seconds" in response.json()["error"]["message"]
