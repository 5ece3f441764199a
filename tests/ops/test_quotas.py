"""Per-key limits: request rate (429, Retry-After, RateLimit headers) and active-job cap."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import free_port
from tests.ops.conftest import paused_queue

pytestmark = pytest.mark.integration

UNREACHABLE = {"url": "http://127.0.0.1:9/recording.wav"}


def _set_limits(key: str, *, rate: str | None = None, max_active_jobs: int | None = None) -> None:
    from sqlalchemy import select

    from app.auth.quotas import set_key_limits
    from app.db import session_scope
    from app.models import ApiKey

    with session_scope() as session:
        key_id = session.scalars(select(ApiKey.id).where(ApiKey.prefix == key[:11])).one()
        set_key_limits(session, key_id=key_id, rate_limit=rate, max_active_jobs=max_active_jobs)


def test_a_key_over_its_rate_gets_429_and_another_key_does_not(client: Any, make_key: Any) -> None:
    busy, other = make_key(), make_key()
    _set_limits(busy, rate="3/minute")
    remaining = []
    for _ in range(3):
        response = client.get("/api/v1/jobs", headers={"X-API-Key": busy})
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "3"
        assert response.headers["ratelimit-policy"] == "3;w=60"
        remaining.append(int(response.headers["ratelimit-remaining"]))
    assert remaining == [2, 1, 0]
    refused = client.get("/api/v1/jobs", headers={"X-API-Key": busy})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "3/minute" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    # Routes that build their own response carry the headers too; a refused key stays refused.
    assert (
        client.post("/api/v1/transcribe", headers={"X-API-Key": busy}, json=UNREACHABLE).status_code
        == 429
    )

    fine = client.get("/api/v1/jobs", headers={"X-API-Key": other})
    assert fine.status_code == 200
    assert int(fine.headers["ratelimit-remaining"]) > 100  # the suite's generous default
    missing = client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers={"X-API-Key": other})
    assert missing.status_code == 404 and missing.headers["ratelimit-limit"]


def test_the_rate_counters_live_in_redis_shared_by_api_processes(
    client: Any, make_key: Any
) -> None:
    import redis

    from tests.conftest import REDIS_URL

    key = make_key()
    _set_limits(key, rate="5/minute")
    assert client.get("/api/v1/jobs", headers={"X-API-Key": key}).status_code == 200
    stored = redis.Redis.from_url(REDIS_URL).keys("LIMITS:*")
    assert stored, "no rate-limit counters in Redis"


def test_active_job_cap_refuses_a_new_job_until_one_ends(client: Any, make_key: Any) -> None:
    key = make_key()
    _set_limits(key, max_active_jobs=2)
    headers = {"X-API-Key": key}
    with paused_queue("transcribe"):  # the jobs stay queued: nothing takes them
        first = client.post("/api/v1/transcribe", headers=headers, json=UNREACHABLE)
        second = client.post("/api/v1/transcribe", headers=headers, json=UNREACHABLE)
        assert first.status_code == 202 and second.status_code == 202
        third = client.post("/api/v1/transcribe", headers=headers, json=UNREACHABLE)
        assert third.status_code == 429
        error = third.json()["error"]
        assert error["code"] == "too_many_active_jobs"
        assert "2 jobs queued or running" in error["message"]
        assert third.headers["retry-after"] == "10"
        canceled = client.post(f"/api/v1/jobs/{first.json()['id']}/cancel", headers=headers)
        assert canceled.status_code == 200
        fourth = client.post("/api/v1/transcribe", headers=headers, json=UNREACHABLE)
        assert fourth.status_code == 202
        for job in (second, fourth):
            client.post(f"/api/v1/jobs/{job.json()['id']}/cancel", headers=headers)


def test_embedded_default_counts_in_memory_without_redis() -> None:
    from app.auth.quotas import RequestRateLimiter

    limiter = RequestRateLimiter("memory://")
    key, other = uuid.uuid4(), uuid.uuid4()
    decisions = [limiter.hit("2/minute", key) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].headers["Retry-After"] and decisions[2].retry_after >= 1
    assert limiter.hit("2/minute", other).allowed


def test_an_unreachable_counter_store_lets_requests_through(make_key: Any) -> None:
    from sqlalchemy import select

    from app.auth.quotas import check_request_rate
    from app.config import get_settings
    from app.db import session_scope
    from app.models import ApiKey

    settings = get_settings().model_copy(
        update={
            "rate_limit_storage_url": f"redis://127.0.0.1:{free_port()}/0",
            "rate_limit": "1/minute",
        }
    )
    key = make_key()
    with session_scope() as session:
        key_id = session.scalars(select(ApiKey.id).where(ApiKey.prefix == key[:11])).one()
        for _ in range(3):
            assert check_request_rate(session, key_id=key_id, settings=settings) == {}


def test_cli_sets_and_resets_a_keys_limits(make_key: Any) -> None:
    from app.cli import main

    key = make_key()
    runner = CliRunner()
    result = runner.invoke(
        main, ["keys", "limits", key[:11], "--rate", "5/second", "--max-active-jobs", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "rate: 5/second" in result.output and "max active jobs: 3" in result.output
    bad = runner.invoke(main, ["keys", "limits", key[:11], "--rate", "lots"])
    assert bad.exit_code != 0 and "lots" in bad.output
    reset = runner.invoke(main, ["keys", "limits", key[:11], "--default"])
    assert reset.exit_code == 0 and "rate: 200/second;20000/minute" in reset.output
    unknown = runner.invoke(main, ["keys", "limits", "sr_nothing"])
    assert unknown.exit_code != 0 and "no single key" in unknown.output
