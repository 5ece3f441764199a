"""Live job status over Server-Sent Events, read as a browser would: over real HTTP, as it comes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CeleryProcess, upload
from tests.ops.conftest import ApiServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _events(response: httpx.Response) -> list[tuple[str, dict[str, Any], float]]:
    """(event name, data, seconds since the stream opened) for each event, as they arrive."""
    opened = time.monotonic()
    events: list[tuple[str, dict[str, Any], float]] = []
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "" and data:
            events.append((name, json.loads(data), time.monotonic() - opened))
            name, data = "message", ""
    return events


def test_stream_of_a_running_job_shows_progress_to_100_and_the_final_status(
    client: Any,
    api_key: str,
    worker: CeleryProcess,
    api_server: ApiServer,
    pyannote_sample: Path,
) -> None:
    job = upload(client, api_key, pyannote_sample / "sample.wav", diarize=True)
    url = f"{api_server.url}/api/v1/jobs/{job['id']}/events"
    with httpx.stream("GET", url, headers={"X-API-Key": api_key}, timeout=300) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["ratelimit-limit"]
        events = _events(response)  # returns when the server closes the stream
    statuses = [data["status"] for _, data, _ in events]
    progress = [data["progress"] for _, data, _ in events]
    assert all(name == "status" for name, _, _ in events)
    assert statuses[-1] == "succeeded" and progress[-1] == 100
    assert "running" in statuses
    assert progress == sorted(progress), progress  # never goes back
    running = [p for (_, d, _), p in zip(events, progress, strict=True) if d["status"] == "running"]
    assert len(set(running)) >= 3, progress  # several steps on the way, not just start and end
    assert events[-1][1]["finished_at"] is not None
    # Events arrived while the job ran, not all at the end.
    assert events[-1][2] - events[0][2] > 2


def test_stream_of_a_finished_job_is_one_event(
    client: Any, api_key: str, api_server: ApiServer
) -> None:
    created = client.post(
        "/api/v1/transcribe",
        headers={"X-API-Key": api_key},
        json={"url": "http://127.0.0.1:9/x.wav"},
    ).json()
    assert client.post(
        f"/api/v1/jobs/{created['id']}/cancel", headers={"X-API-Key": api_key}
    ).status_code in (200, 409)
    url = f"{api_server.url}/api/v1/jobs/{created['id']}/events"
    with httpx.stream("GET", url, headers={"X-API-Key": api_key}, timeout=30) as response:
        events = _events(response)
    assert len(events) == 1 and events[0][1]["status"] in ("canceled", "failed")


def test_stream_of_another_tenants_job_is_404(
    client: Any, make_key: Any, api_server: ApiServer
) -> None:
    owner, stranger = make_key(), make_key()
    created = client.post(
        "/api/v1/transcribe", headers={"X-API-Key": owner}, json={"url": "http://127.0.0.1:9/x.wav"}
    ).json()
    response = httpx.get(
        f"{api_server.url}/api/v1/jobs/{created['id']}/events",
        headers={"X-API-Key": stranger},
        timeout=10,
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    missing_key = httpx.get(f"{api_server.url}/api/v1/jobs/{created['id']}/events", timeout=10)
    assert missing_key.status_code == 401
