"""A call whose job outlasts OPENAI_WAIT_SECONDS, and a stream that sends segments while the job
still runs. The transcribe queue is paused, so the jobs stay where these tests need them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.conftest import SHARED_DATA
from tests.ops.conftest import ApiServer, paused_queue

pytestmark = pytest.mark.integration

JFK = SHARED_DATA / "jfk.flac"


@pytest.fixture()
def paused() -> Iterator[None]:
    with paused_queue("transcribe"):
        yield


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


def _cancel(api: ApiServer, key: str, job_id: str) -> dict[str, Any]:
    headers = {"X-API-Key": key}
    httpx.post(f"{api.url}/api/v1/jobs/{job_id}/cancel", headers=headers, timeout=30)
    return dict(httpx.get(f"{api.url}/api/v1/jobs/{job_id}", headers=headers, timeout=30).json())


def test_a_job_that_outlasts_the_wait_is_named_in_the_error(
    impatient_api: ApiServer, api_key: str, paused: None
) -> None:
    client = OpenAI(api_key=api_key, base_url=f"{impatient_api.url}/v1", timeout=120)
    started = time.monotonic()
    with JFK.open("rb") as fh, pytest.raises(openai.InternalServerError) as slow:
        client.audio.transcriptions.create(model="whisper-1", file=fh)
    waited = time.monotonic() - started
    response = slow.value.response
    assert response.status_code == 504
    assert response.headers["x-should-retry"] == "false"  # the client did not send it again
    assert waited < 90, waited  # one wait of 15 s, not the client's retries
    error = slow.value.body
    assert isinstance(error, dict) and error["code"] == "job_timeout"
    job_id = error["job_id"]
    assert job_id in error["message"] and f"/api/v1/jobs/{job_id}" in error["message"]
    assert response.headers["x-job-id"] == job_id
    job = _cancel(impatient_api, api_key, job_id)  # it was still waiting for a worker
    assert job["status"] == "canceled" and job["attempts"] == 0


def test_stream_sends_segments_while_the_job_runs(
    impatient_api: ApiServer, api_key: str, paused: None
) -> None:
    from app.jobs.partial import PartialSegments
    from app.storage import get_storage

    spoken = [
        Segment(0.0, 3.1, "And so, my fellow Americans,"),
        Segment(3.1, 7.9, "ask not what your country can do for you,"),
    ]
    events: list[dict[str, Any]] = []
    with (
        JFK.open("rb") as fh,
        httpx.stream(
            "POST",
            f"{impatient_api.url}/v1/audio/transcriptions",
            headers={"Authorization": f"Bearer {api_key}"},
            files={"file": ("jfk.flac", fh, "audio/flac")},
            data={"model": "whisper-1", "stream": "true"},
            timeout=120,
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        job_id = uuid.UUID(response.headers["x-job-id"])
        # What a worker's decoding loop records, segment by segment, through the same writer.
        with PartialSegments(job_id, get_storage()) as partial:
            partial.add(spoken[0])
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line.removeprefix("data: "))
                events.append(event)
                if event.get("type") == "transcript.text.delta" and len(events) < len(spoken):
                    partial.add(spoken[len(events)])
                if "error" in event:
                    break
    job = _cancel(impatient_api, api_key, str(job_id))
    assert job["status"] == "canceled" and job["options"]["stream"] is True
    deltas = [e["delta"] for e in events if e.get("type") == "transcript.text.delta"]
    assert deltas == [spoken[0].text, " " + spoken[1].text]
    # The job never ran (the queue is paused): the stream ends with an error naming it.
    assert events[-1]["error"]["code"] == "job_timeout"
    assert str(job_id) in events[-1]["error"]["message"]
