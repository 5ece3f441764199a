"""One job followed from the API into the worker: request id and job id in JSON log lines on
both sides, and one OpenTelemetry trace from the HTTP request through the queue into the task."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SHARED_DATA, CeleryProcess, wait_for_job
from tests.ops.conftest import json_lines, paused_queue

pytestmark = pytest.mark.integration


@pytest.fixture()
def api_log() -> Iterator[io.StringIO]:
    """The API's log lines, as the JSON handler writes them."""
    from app.logs import make_handler

    stream = io.StringIO()
    handler = make_handler("json", stream)
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


@pytest.mark.slow
def test_request_and_job_ids_are_in_api_and_worker_log_lines(
    client: Any, api_key: str, worker: CeleryProcess, api_log: io.StringIO
) -> None:
    request_id = f"test-{uuid.uuid4().hex[:12]}"
    with (SHARED_DATA / "jfk.flac").open("rb") as fh:
        response = client.post(
            "/api/v1/transcribe",
            headers={"X-API-Key": api_key, "X-Request-ID": request_id},
            files={"file": ("jfk.flac", fh)},
        )
    assert response.status_code == 202
    assert response.headers["x-request-id"] == request_id
    job_id = response.json()["id"]
    assert wait_for_job(client, api_key, job_id)["status"] == "succeeded"

    api_lines = [json.loads(line) for line in api_log.getvalue().splitlines()]
    access = [
        r for r in api_lines if r["logger"] == "app.access" and r.get("request_id") == request_id
    ]
    assert access and access[0]["status"] == 202 and access[0]["route"] == "/api/v1/transcribe"
    assert {"time", "level", "message"} <= set(access[0])

    worker_lines = [r for r in json_lines(worker.log_path) if r.get("job_id") == job_id]
    messages = [str(r["message"]) for r in worker_lines]
    assert any("claimed" in m for m in messages) and any("succeeded" in m for m in messages)
    assert all(r["request_id"] == request_id for r in worker_lines), worker_lines
    assert all(r["level"] in ("INFO", "WARNING", "DEBUG") for r in worker_lines)


def test_a_bad_request_id_is_replaced(client: Any) -> None:
    response = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32


def test_one_trace_runs_from_the_request_through_the_queue_into_the_task(
    make_key: Any, database: str
) -> None:
    from celery.contrib.testing.worker import start_worker
    from fastapi.testclient import TestClient
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    from app.celery_app import celery_app
    from app.config import get_settings
    from app.main import create_app
    from app.ops import tracing

    exporter = InMemorySpanExporter()
    provider = tracing.make_provider(get_settings(), "api", exporter)
    app = create_app()
    tracing.instrument_api(app, provider)
    key = make_key()
    try:
        with paused_queue("transcribe"), TestClient(app) as api:
            created = api.post(
                "/api/v1/transcribe",
                headers={"X-API-Key": key},
                json={"url": "http://127.0.0.1:9/nothing.wav"},
            )
            assert created.status_code == 202
            job_id = created.json()["id"]
            with start_worker(
                celery_app, pool="solo", perform_ping_check=False, queues=["transcribe"]
            ):
                done = wait_for_job(api, key, job_id, timeout=60)
            assert done["status"] == "failed" and done["error"]["code"] == "input_unavailable"
    finally:
        CeleryInstrumentor().uninstrument()
        RedisInstrumentor().uninstrument()
    provider.force_flush()
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind == SpanKind.SERVER and "/api/v1/transcribe" in s.name]
    producer = [
        s for s in spans if s.kind == SpanKind.PRODUCER and s.name.endswith("scribe.transcribe")
    ]
    consumer = [
        s for s in spans if s.kind == SpanKind.CONSUMER and s.name.endswith("scribe.transcribe")
    ]
    assert server and producer and consumer, [s.name for s in spans]
    trace_id = server[0].context.trace_id
    assert producer[0].context.trace_id == trace_id
    assert consumer[0].context.trace_id == trace_id  # the context crossed the queue
    assert (
        consumer[0].parent is not None and consumer[0].parent.span_id == producer[0].context.span_id
    )
    assert consumer[0].attributes.get("celery.task_name") == "scribe.transcribe"
    resource = consumer[0].resource.attributes
    assert resource["service.name"] == "scribe-rabbit-api"
