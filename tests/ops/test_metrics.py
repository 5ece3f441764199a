"""Metrics after real jobs through a real worker, queue depth against the broker, and a worker
pod's own exporter (its pool processes' metrics, /health, /ready, `celery inspect`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import (
    REDIS_URL,
    SHARED_DATA,
    TMP,
    CeleryProcess,
    free_port,
    upload,
    wait_for_job,
)
from tests.ops.conftest import paused_queue, scrape, value

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _metrics(client: Any) -> dict[Any, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return scrape(response.text)


def _not_audio() -> Path:
    path = TMP / "metrics-notes.wav"
    path.write_text("not a recording\n" * 100)
    return path


def test_counters_histograms_and_queue_depth_follow_real_jobs(
    client: Any, api_key: str, worker: CeleryProcess
) -> None:
    before = _metrics(client)
    with paused_queue("transcribe"):
        good = upload(client, api_key, SHARED_DATA / "jfk.flac")
        bad = upload(client, api_key, _not_audio())
        waiting = _metrics(client)
        broker = redis.Redis.from_url(REDIS_URL)
        in_broker = broker.llen("transcribe")
        broker.close()
        assert in_broker >= 2
        assert value(waiting, "scribe_rabbit_queue_depth", queue="transcribe") == in_broker
        assert value(waiting, "scribe_rabbit_jobs_active", status="queued") >= 2
    done = [wait_for_job(client, api_key, job["id"]) for job in (good, bad)]
    assert [d["status"] for d in done] == ["succeeded", "failed"]
    after = _metrics(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("scribe_rabbit_jobs_submitted_total", kind="transcription") == 2
    assert delta("scribe_rabbit_jobs_completed_total", kind="transcription") == 1
    assert delta("scribe_rabbit_jobs_failed_total", reason="invalid_media") == 1
    # The duration histogram got one observation per outcome, from the worker's pool process.
    count = "scribe_rabbit_job_duration_seconds_count"
    assert delta(count, outcome="succeeded") == 1
    assert delta(count, outcome="failed") == 1
    assert 0 < delta("scribe_rabbit_job_duration_seconds_sum", outcome="succeeded") < 120
    assert abs(delta("scribe_rabbit_audio_seconds_processed_total") - 11.0) < 0.3
    assert delta("scribe_rabbit_stage_real_time_factor_count", stage="asr") == 1
    assert delta("scribe_rabbit_stage_real_time_factor_count", stage="total") == 1
    posts = delta(
        "scribe_rabbit_http_request_duration_seconds_count",
        method="POST",
        route="/api/v1/transcribe",
        status="202",
    )
    assert posts == 2
    assert value(after, "scribe_rabbit_worker_ready") >= 1
    assert value(after, "scribe_rabbit_queue_depth", queue="transcribe") == 0


@pytest.fixture()
def exporter_worker(tmp_path: Path) -> Any:
    """A transcription worker pod: its own metrics folder and its exporter on a free port."""
    port = free_port()
    (tmp_path / "metrics").mkdir()
    args = [
        "worker",
        "-Q",
        "transcribe",
        "--concurrency",
        "1",
        "-n",
        f"exporter-{port}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
        "--metrics-port",
        str(port),
    ]
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "WARMUP": "asr"}
    proc = CeleryProcess("exporter-worker", args, env=env, app="workers.transcribe")
    yield proc, f"http://127.0.0.1:{port}"
    proc.stop()


def test_worker_exporter_serves_its_pool_metrics_and_readiness(
    client: Any, api_key: str, exporter_worker: Any
) -> None:
    from app.celery_app import celery_app

    proc, base = exporter_worker
    with paused_queue("transcribe"):  # only the worker under test takes the next job
        proc.start()
        deadline = time.monotonic() + 120
        ready = httpx.get(f"{base}/ready", timeout=5)
        while ready.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            ready = httpx.get(f"{base}/ready", timeout=5)
        assert ready.status_code == 200, ready.text
        report = ready.json()
        assert report["pool"]["ready"] == 1
        checks = report["processes"][0]["checks"]
        assert checks["ffmpeg"] is True and checks["models"]["asr"]["name"] == "tiny.en"
        assert httpx.get(f"{base}/health", timeout=5).json()["status"] == "ok"
        replies = celery_app.control.broadcast("scribe_readiness", reply=True, timeout=3)
        mine = [r for reply in replies for name, r in reply.items() if name.startswith("exporter-")]
        assert mine and mine[0]["status"] == "ready" and mine[0]["pool"]["ready"] == 1

        job = upload(client, api_key, SHARED_DATA / "jfk.flac")
        done = wait_for_job(client, api_key, job["id"])
        assert done["status"] == "succeeded"
    samples = scrape(httpx.get(f"{base}/metrics", timeout=5).text)
    assert value(samples, "scribe_rabbit_jobs_completed_total", kind="transcription") == 1
    assert value(samples, "scribe_rabbit_job_duration_seconds_count", outcome="succeeded") == 1
    assert value(samples, "scribe_rabbit_worker_ready") == 1
    assert value(samples, "scribe_rabbit_jobs_submitted_total") == 0  # the API's, not this pod's
