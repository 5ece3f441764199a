"""Reading a finished job as a person does: speaker names through the API (every format, every
GET), the recording for playback (ranges, short-lived links, tenancy), the server's models."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pysrt
import pytest
import webvtt
from fastapi.testclient import TestClient

from tests.conftest import SHARED_DATA, CeleryProcess, upload, wait_for_job

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass(frozen=True)
class Finished:
    job: dict[str, Any]
    key: str
    audio: bytes

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


@pytest.fixture(scope="module")
def two_speakers(
    client: TestClient, make_key: Callable[..., str], worker: CeleryProcess
) -> Finished:
    """A stereo call transcribed per channel (speakers CHANNEL_00 and CHANNEL_01, with speaker
    turns, so RTTM too) by a real worker."""
    key = make_key()
    recording = SHARED_DATA / "stereo_diarization.wav"
    job = upload(client, key, recording, split_channels=True)
    done = wait_for_job(client, key, job["id"], timeout=600)
    assert done["status"] == "succeeded", done
    return Finished(done, key, recording.read_bytes())


def _transcript(client: TestClient, job: Finished, fmt: str) -> str:
    response = client.get(
        f"/api/v1/jobs/{job.job['id']}/transcript", params={"format": fmt}, headers=job.headers
    )
    assert response.status_code == 200, response.text
    return response.text


def test_speaker_names_are_stored_checked_and_used_by_every_format(
    client: TestClient, two_speakers: Finished, make_key: Callable[..., str]
) -> None:
    job_url = f"/api/v1/jobs/{two_speakers.job['id']}"
    headers = two_speakers.headers
    assert two_speakers.job["speaker_names"] == {}
    before = json.loads(_transcript(client, two_speakers, "json"))
    assert {s["id"] for s in before["speakers"]} == {"CHANNEL_00", "CHANNEL_01"}

    def patch(body: Any, key: str = two_speakers.key) -> Any:
        return client.patch(job_url, json=body, headers={"X-API-Key": key})

    unknown = patch({"speaker_names": {"CHANNEL_09": "Eve"}})
    assert unknown.status_code == 422
    assert "unknown speaker CHANNEL_09" in unknown.json()["error"]["message"]
    too_long = patch({"speaker_names": {"CHANNEL_00": "x" * 81}})
    assert too_long.status_code == 422 and "longer than 80" in too_long.text
    assert patch({"speaker_names": {"CHANNEL_00": 7}}).status_code == 422
    assert patch({"speaker_names": {"CHANNEL_00": "Diane"}, "status": "x"}).status_code == 422
    assert patch({"names": {}}).status_code == 422
    assert patch({"speaker_names": {"CHANNEL_00": "Diane"}}, key=make_key()).status_code == 404
    assert client.get(job_url, headers=headers).json()["speaker_names"] == {}

    named = patch({"speaker_names": {"CHANNEL_00": "Diane Lee", "CHANNEL_01": "Sheila <S&S>"}})
    assert named.status_code == 200, named.text
    names = {"CHANNEL_00": "Diane Lee", "CHANNEL_01": "Sheila <S&S>"}
    assert named.json()["speaker_names"] == names
    assert client.get(job_url, headers=headers).json()["speaker_names"] == names
    listed = client.get("/api/v1/jobs", headers=headers).json()["data"]
    assert [j["speaker_names"] for j in listed if j["id"] == two_speakers.job["id"]] == [names]

    result = json.loads(_transcript(client, two_speakers, "json"))
    assert result["speaker_names"] == names
    for segment, original in zip(result["segments"], before["segments"], strict=True):
        assert segment["speaker_id"] == original["speaker"]
        assert segment["speaker"] == names[original["speaker"]]
    assert {w["speaker"] for w in result["words"]} == set(names.values())
    assert {s["name"] for s in result["speakers"]} == set(names.values())

    txt = _transcript(client, two_speakers, "txt")
    assert txt.startswith(("Diane Lee: ", "Sheila <S&S>: ")) and "CHANNEL_0" not in txt
    subs = pysrt.from_string(_transcript(client, two_speakers, "srt"))
    assert len(subs) == len(before["segments"])
    assert all(s.text.startswith(("[Diane Lee] ", "[Sheila <S&S>] ")) for s in subs)
    captions = list(webvtt.from_buffer(io.StringIO(_transcript(client, two_speakers, "vtt"))))
    assert {c.voice for c in captions} == {"Diane Lee", "Sheila &lt;S&amp;S&gt;"}
    rttm = [line.split() for line in _transcript(client, two_speakers, "rttm").splitlines()]
    assert {fields[7] for fields in rttm} == {"Diane_Lee", "Sheila_<S&S>"}
    assert all(len(fields) == 10 for fields in rttm)

    # A merge patch: null removes one name, the other stays.
    kept = patch({"speaker_names": {"CHANNEL_01": None}})
    assert kept.json()["speaker_names"] == {"CHANNEL_00": "Diane Lee"}
    subs = pysrt.from_string(_transcript(client, two_speakers, "srt"))
    assert {s.text.split("]")[0] + "]" for s in subs} == {"[Diane Lee]", "[CHANNEL_01]"}


def test_names_need_a_finished_transcription(client: TestClient, make_key: Any) -> None:
    key = make_key()
    job = upload(client, key, SHARED_DATA / "jfk.flac", diarize=True)
    canceled = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers={"X-API-Key": key})
    assert canceled.status_code == 200, canceled.text
    refused = client.patch(
        f"/api/v1/jobs/{job['id']}",
        json={"speaker_names": {"CHANNEL_00": "JFK"}},
        headers={"X-API-Key": key},
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "no_transcript"


def test_the_enhancements_of_a_transcription_are_listed(
    client: TestClient, two_speakers: Finished, make_key: Any
) -> None:
    headers = two_speakers.headers
    created = client.post(
        "/api/v1/enhanced-ai",
        json={"transcription_job_id": two_speakers.job["id"]},
        headers=headers,
    )
    assert created.status_code == 202, created.text
    enhancement = created.json()
    # Listing does not need it to run; cancel it so it costs the session's worker nothing.
    client.post(f"/api/v1/jobs/{enhancement['id']}/cancel", headers=headers)
    listed = client.get(
        "/api/v1/enhanced-ai",
        params={"transcription_job_id": two_speakers.job["id"]},
        headers=headers,
    )
    assert listed.status_code == 200, listed.text
    assert [j["id"] for j in listed.json()["data"]][:1] == [enhancement["id"]]
    other = client.get(
        "/api/v1/enhanced-ai",
        params={"transcription_job_id": two_speakers.job["id"]},
        headers={"X-API-Key": make_key()},
    )
    assert other.status_code == 200 and other.json()["data"] == []


def test_the_recording_plays_through_a_short_lived_link_with_ranges(
    client: TestClient, two_speakers: Finished, make_key: Any
) -> None:
    job_id = two_speakers.job["id"]
    link = client.get(f"/api/v1/jobs/{job_id}/audio/url", headers=two_speakers.headers)
    assert link.status_code == 200, link.text
    body = link.json()
    assert body["media_type"] == "audio/x-wav" or body["media_type"].startswith("audio/")
    url = body["url"]
    assert two_speakers.key not in url and "token=" in url

    # No header: the token alone opens it, with byte ranges, as an <audio> element asks.
    part = client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == two_speakers.audio[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(two_speakers.audio)}"
    assert part.headers["content-type"].startswith("audio/")
    assert part.headers["x-content-type-options"] == "nosniff"
    whole = client.get(f"/api/v1/jobs/{job_id}/audio", headers=two_speakers.headers)
    assert whole.status_code == 200 and whole.content == two_speakers.audio
    # The key as a bearer token (as OpenAI-style clients send it) opens it as well.
    bearer = {"Authorization": f"Bearer {two_speakers.key}"}
    as_bearer = client.get(f"/api/v1/jobs/{job_id}/audio", headers=bearer)
    assert as_bearer.status_code == 200 and as_bearer.content == two_speakers.audio

    assert client.get(f"/api/v1/jobs/{job_id}/audio").status_code == 401
    token = url.split("token=", 1)[1]
    key_hex, expires, signature = token.split(".")
    forged = f"{key_hex}.{int(expires) + 3600}.{signature}"
    for bad in (forged, token[:-2], "nonsense", f"{uuid.uuid4().hex}.{expires}.{signature}"):
        refused = client.get(f"/api/v1/jobs/{job_id}/audio", params={"token": bad})
        assert refused.status_code == 401, bad
        assert refused.json()["error"]["code"] == "invalid_media_link"
    other_job = str(uuid.uuid4())
    assert client.get(f"/api/v1/jobs/{other_job}/audio", params={"token": token}).status_code == 401

    # Another tenant sees nothing of it.
    stranger = {"X-API-Key": make_key()}
    assert client.get(f"/api/v1/jobs/{job_id}/audio/url", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/jobs/{job_id}/audio", headers=stranger).status_code == 404


def test_a_link_ends_with_its_time_and_with_its_key(
    client: TestClient, two_speakers: Finished, make_key: Any
) -> None:
    from app.auth.service import authenticate, create_key, revoke_key
    from app.db import session_scope
    from app.jobs.audio import make_token
    from app.models import ApiKey

    job_id = uuid.UUID(two_speakers.job["id"])
    with session_scope() as session:
        owner = authenticate(session, secret=two_speakers.key)
        assert owner is not None
        expired = make_token(session, principal=owner, job_id=job_id, expires=int(time.time()) - 1)
        # A second key of the same tenant: its links work until it is revoked.
        second = create_key(session, name="player", owner=owner.owner)
        second_id = second.key.id
        prefix = second.key.prefix
    answer = client.get(f"/api/v1/jobs/{job_id}/audio", params={"token": expired})
    assert answer.status_code == 401 and "expired" in answer.json()["error"]["message"]

    url = client.get(
        f"/api/v1/jobs/{job_id}/audio/url", headers={"X-API-Key": second.secret}
    ).json()["url"]
    assert client.get(url, headers={"Range": "bytes=0-99"}).status_code == 206
    with session_scope() as session:
        assert revoke_key(session, key_ref=prefix) is not None
        assert session.get(ApiKey, second_id).revoked_at is not None  # type: ignore[union-attr]
    assert client.get(url, headers={"Range": "bytes=0-99"}).status_code == 401


def test_a_url_job_has_no_recording_to_play(client: TestClient, make_key: Any) -> None:
    key = make_key()
    made = client.post(
        "/api/v1/transcribe",
        json={"url": "http://127.0.0.1:9/recording.wav"},
        headers={"X-API-Key": key},
    )
    assert made.status_code == 202, made.text
    answer = client.get(f"/api/v1/jobs/{made.json()['id']}/audio/url", headers={"X-API-Key": key})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "audio_unavailable"


def test_the_models_a_job_may_choose(client: TestClient, api_key: str) -> None:
    from app.config import get_settings

    settings = get_settings()
    assert client.get("/api/v1/models").status_code == 401
    catalog = client.get("/api/v1/models", headers={"X-API-Key": api_key}).json()
    assert catalog["default"] == settings.asr_model
    ids = [m["id"] for m in catalog["data"]]
    assert ids == sorted({settings.asr_model, *settings.asr_models})
    assert [m["id"] for m in catalog["data"] if m["default"]] == [settings.asr_model]
    assert all(m["english_only"] == m["id"].endswith(".en") for m in catalog["data"])
    assert "en" in catalog["languages"] and "de" in catalog["languages"]
    assert catalog["max_speakers"] == settings.max_speakers
