"""The original design's request bodies, and every problem of a request in one 422."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from tests.conftest import SHARED_DATA, CeleryProcess, upload, wait_for_job

pytestmark = pytest.mark.integration

# The transcribe example of the original design. Its hosts do not resolve here (no network),
# and large-v3 is not among the default ASR_MODELS.
ORIGINAL_TRANSCRIBE = {
    "url": "https://recordings.example.com/calls/2024-05-01.mp3",
    "engine": "faster-whisper",
    "model": "large-v3",
    "language": "en",
    "diarize": True,
    "num_speakers": 2,
    "webhook_url": "https://hooks.example.com/scribe",
}
# The same body where this deployment can reach its hosts (tests allow 127.0.0.0/8).
REACHABLE = {
    **ORIGINAL_TRANSCRIBE,
    "url": "http://127.0.0.1:9/calls/2024-05-01.mp3",
    "webhook_url": "http://127.0.0.1:9/scribe",
}


@pytest.fixture()
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A deployment that lists large-v3 among its models."""
    monkeypatch.setenv("ASR_MODELS", "tiny.en,base,large-v3")
    get_settings.cache_clear()
    try:
        yield
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def _problems(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {p["field"]: p["code"] for p in response.json()["error"]["details"]}


def _cancel(client: TestClient, key: str, job_id: str) -> None:
    client.post(f"/api/v1/jobs/{job_id}/cancel", headers={"X-API-Key": key})


def test_original_transcribe_body_gives_one_422_listing_every_problem(
    client: TestClient, api_key: str
) -> None:
    answer = client.post(
        "/api/v1/transcribe", headers={"X-API-Key": api_key}, json=ORIGINAL_TRANSCRIBE
    )
    assert _problems(answer) == {
        "url": "url_unresolvable",
        "model": "model_unavailable",
        "webhook_url": "webhook_url_unresolvable",
    }
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    for words in ("recordings.example.com", "could not be resolved", "large-v3", "tiny.en"):
        assert words in error["message"], error["message"]


def test_original_transcribe_body_is_accepted_when_its_model_is_configured(
    client: TestClient, api_key: str, configured: None
) -> None:
    answer = client.post("/api/v1/transcribe", headers={"X-API-Key": api_key}, json=REACHABLE)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    _cancel(client, api_key, job["id"])  # nothing serves the URL; the acceptance is the point
    assert job["options"]["engine"] == "faster-whisper"
    assert job["options"]["model"] == "large-v3"
    assert job["options"]["diarize"] is True and job["options"]["num_speakers"] == 2


def test_schema_errors_and_server_checks_come_together(client: TestClient, api_key: str) -> None:
    body = {
        "url": "http://10.1.2.3/a.wav",  # a private address
        "engine": "whisperx",
        "languag": "en",  # a typo
        "model": "tiny.en",
        "language": "de",  # tiny.en is English-only
        "diarize": "sometimes",  # not a boolean
        "webhook_url": "http://169.254.169.254/latest",  # cloud metadata
        "retention": "P9999D",
    }
    answer = client.post("/api/v1/transcribe", headers={"X-API-Key": api_key}, json=body)
    assert _problems(answer) == {
        "languag": "invalid_request",
        "diarize": "invalid_request",
        "url": "url_not_allowed",
        "engine": "unknown_engine",
        "language": "language_unsupported",
        "retention": "retention_too_long",
        "webhook_url": "webhook_url_not_allowed",
    }
    assert "faster-whisper" in answer.json()["error"]["message"]  # the engines it knows


def test_multipart_options_are_checked_together(client: TestClient, api_key: str) -> None:
    with (SHARED_DATA / "jfk.flac").open("rb") as fh:
        answer = client.post(
            "/api/v1/transcribe",
            headers={"X-API-Key": api_key},
            files={"file": ("jfk.flac", fh, "audio/flac")},
            data={"engine": "nemo", "model": "large-v9", "webhook_url": "http://nowhere.invalid/"},
        )
    assert _problems(answer) == {
        "engine": "unknown_engine",
        "model": "model_unavailable",
        "webhook_url": "webhook_url_unresolvable",
    }


def test_one_problem_keeps_its_own_code(client: TestClient, api_key: str) -> None:
    answer = client.post(
        "/api/v1/transcribe",
        headers={"X-API-Key": api_key},
        json={"url": "http://recordings.invalid/a.wav"},
    )
    error = answer.json()["error"]
    assert answer.status_code == 422 and error["code"] == "url_unresolvable", error
    assert "not allowed" not in error["message"]


def test_engine_faster_whisper_is_accepted(client: TestClient, api_key: str) -> None:
    job = upload(client, api_key, SHARED_DATA / "jfk.flac", engine="faster-whisper")
    _cancel(client, api_key, job["id"])
    assert job["options"]["engine"] == "faster-whisper"


@pytest.mark.slow
def test_original_enhance_body(
    client: TestClient, api_key: str, worker: CeleryProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = upload(client, api_key, SHARED_DATA / "jfk.flac")
    assert wait_for_job(client, api_key, source["id"])["status"] == "succeeded"
    body = {
        "transcription_job_id": source["id"],
        "enable_summarization": True,
        "enable_entity_extraction": True,
        "llm_model": "gpt-4o-mini",
    }
    headers = {"X-API-Key": api_key}
    # The offline provider cannot use an LLM: one 422 with that and every other problem.
    refused = client.post(
        "/api/v1/enhanced-ai",
        headers=headers,
        json={**body, "webhook_url": "http://10.0.0.5/hooks", "summary_length": 3},
    )
    assert _problems(refused) == {
        "summary_length": "invalid_request",
        "llm_model": "llm_model_unavailable",
        "webhook_url": "webhook_url_not_allowed",
    }
    # Where the OpenAI-compatible provider is configured, the body is accepted as written.
    monkeypatch.setenv("ENHANCEMENT_PROVIDER", "openai")
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LLM_MODEL", "gpt-4o-mini")
    get_settings.cache_clear()
    try:
        accepted = client.post("/api/v1/enhanced-ai", headers=headers, json=body)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert accepted.status_code == 202, accepted.text
    _cancel(client, api_key, accepted.json()["id"])
    assert accepted.json()["options"]["llm_model"] == "gpt-4o-mini"
