"""The enhanced-AI step end to end, offline: a real transcript of the pyannote sample, an
enhancement job on the default queue of a real worker, its result and its webhook."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED_DATA, CeleryProcess, Tenant, upload, wait_for_job
from tests.webhooks.receiver import WebhookReceiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Names and places said in the sample (its reference transcript, sample.stm).
SAID = {"diane", "sheila", "new jersey", "texas", "chicago"}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower())


def test_enhancement_of_a_real_transcript_runs_offline_end_to_end(
    client: Any,
    tenant: Tenant,
    receiver: WebhookReceiver,
    worker: CeleryProcess,
    beat: CeleryProcess,
    pyannote_sample: Path,
) -> None:
    headers = {"X-API-Key": tenant.key}
    source = upload(
        client, tenant.key, pyannote_sample / "sample.wav", diarize=True, recording_id="call-7"
    )
    assert wait_for_job(client, tenant.key, source["id"], timeout=300)["status"] == "succeeded"
    transcript = client.get(f"/api/v1/jobs/{source['id']}/transcript", headers=headers).json()
    segments = {s["id"]: s for s in transcript["segments"]}

    response = client.post(
        "/api/v1/enhanced-ai",
        headers=headers,
        json={
            "transcription_job_id": source["id"],
            "enable_summarization": True,
            "enable_entity_extraction": True,
            "webhook_url": receiver.url,
            "webhook_include_result": True,
        },
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["kind"] == "enhancement" and job["status"] == "queued"
    assert job["recording_id"] == "call-7"
    done = wait_for_job(client, tenant.key, job["id"], timeout=240)
    assert done["status"] == "succeeded", done
    assert done["timings"]["enhance"] > 0

    out = client.get(f"/api/v1/enhanced-ai/{job['id']}", headers=headers).json()
    assert out["job"]["id"] == job["id"]
    result = out["result"]
    assert result["transcription_job_id"] == source["id"]

    # The summary is made of what was said, each key point with its time and speaker.
    text = _norm(transcript["text"])
    assert result["summary"]
    assert result["key_points"]
    for point in result["key_points"]:
        assert _norm(point["text"]) in text
        assert point["speaker"] in ("SPEAKER_00", "SPEAKER_01")
        assert point["start"] < point["end"] and point["segment_ids"]
        said = " ".join(segments[i]["text"] for i in point["segment_ids"])
        assert _norm(point["text"])[:20] in _norm(said)

    # Entities come from the text and say where they occur.
    found = {_norm(e["text"]) for e in result["entities"]}
    assert len(found & SAID) >= 3, result["entities"]
    for entity in result["entities"]:
        assert entity["type"] and entity["count"] == len(entity["occurrences"])
        for occurrence in entity["occurrences"]:
            segment = segments[occurrence["segment_id"]]
            assert _norm(entity["text"]) in _norm(segment["text"])
            assert occurrence["start"] == segment["start"]
            assert occurrence["speaker"] == segment["speaker"]

    # Speaker turns are kept, not flattened.
    turns = result["speaker_turns"]
    assert len(turns) > 4 and {t["speaker"] for t in turns} == {"SPEAKER_00", "SPEAKER_01"}
    assert all(a["speaker"] != b["speaker"] for a, b in zip(turns, turns[1:], strict=False))
    assert result["models"]["provider"] == "offline"

    # Its webhook: enhancement.succeeded, verified, with the result because it was asked for.
    [request] = receiver.wait_for(1)
    assert request.verified
    event = request.payload()
    assert event["type"] == "enhancement.succeeded"
    assert event["data"]["job_id"] == job["id"] and event["data"]["recording_id"] == "call-7"
    assert event["data"]["transcription_job_id"] == source["id"]
    assert event["data"]["result"]["summary"] == result["summary"]
    time.sleep(1)
    assert len(receiver.requests) == 1


def test_enhancement_requests_are_checked(client: Any, tenant: Tenant, make_key: Any) -> None:
    headers = {"X-API-Key": tenant.key}
    queued = upload(client, tenant.key, SHARED_DATA / "jfk.flac")

    def ask(key: str = tenant.key, **body: Any) -> Any:
        body.setdefault("transcription_job_id", queued["id"])
        return client.post("/api/v1/enhanced-ai", headers={"X-API-Key": key}, json=body)

    not_done = ask()
    assert not_done.status_code == 409
    assert not_done.json()["error"]["code"] == "job_not_finished"
    assert ask(key=make_key()).status_code == 404  # another tenant's job
    nothing = ask(enable_summarization=False, enable_entity_extraction=False)
    assert nothing.status_code == 422 and "at least one" in nothing.json()["error"]["message"]
    model = ask(llm_model="gpt-4o")
    assert model.status_code == 422 and model.json()["error"]["code"] == "llm_model_unavailable"
    assert ask(unknown_option=True).status_code == 422
    private = ask(webhook_url="http://10.0.0.5/hooks")
    assert private.status_code == 422
    assert private.json()["error"]["code"] == "webhook_url_not_allowed"
    assert ask(transcription_job_id="not-a-uuid").status_code == 422
    client.post(f"/api/v1/jobs/{queued['id']}/cancel", headers=headers)
    canceled = ask()
    assert canceled.status_code == 409 and canceled.json()["error"]["code"] == "no_transcript"
    missing = client.get(f"/api/v1/enhanced-ai/{queued['id']}", headers=headers)
    assert missing.status_code == 404  # a transcription job is not an enhancement
