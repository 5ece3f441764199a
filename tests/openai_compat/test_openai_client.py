"""The official `openai` client against the service: a uvicorn API, the session's Celery worker,
real models, and the API key as the client's bearer token."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pysrt
import pytest
from openai import OpenAI
from openai.types.audio import (
    Transcription,
    TranscriptionDiarized,
    TranscriptionTextDeltaEvent,
    TranscriptionTextDoneEvent,
    TranscriptionTextSegmentEvent,
    TranscriptionVerbose,
)

from tests.conftest import SHARED_DATA, CeleryProcess
from tests.ops.conftest import ApiServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JFK = SHARED_DATA / "jfk.flac"
SPOKEN = "and so my fellow americans ask not what your country can do for you"


def _openai(api: ApiServer, key: str) -> OpenAI:
    # No retries: a test must see the first answer (the service also says not to retry jobs).
    return OpenAI(api_key=key, base_url=f"{api.url}/v1", timeout=1500, max_retries=0)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))


def _job(api: ApiServer, key: str, job_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{api.url}/api/v1/jobs/{job_id}", headers={"X-API-Key": key}, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_official_client_transcribes_json_verbose_json_and_srt(
    openai_api: ApiServer, worker: CeleryProcess, api_key: str
) -> None:
    client = _openai(openai_api, api_key)

    with JFK.open("rb") as fh:
        plain = client.audio.transcriptions.create(model="whisper-1", file=fh)
    assert isinstance(plain, Transcription)
    assert SPOKEN in _words(plain.text), plain.text
    assert plain.usage is not None and plain.usage.type == "duration"
    assert plain.usage.seconds == 11

    with JFK.open("rb") as fh:
        verbose = client.audio.transcriptions.create(
            model="whisper-1",
            file=fh,
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
        )
    assert isinstance(verbose, TranscriptionVerbose)
    assert verbose.language == "english" and abs(verbose.duration - 11.0) < 0.1
    assert verbose.words and verbose.segments
    assert _words(" ".join(w.word for w in verbose.words)) == _words(verbose.text)
    starts = [w.start for w in verbose.words]
    assert starts == sorted(starts) and all(w.start <= w.end <= 11.1 for w in verbose.words)
    americans = next(w for w in verbose.words if "Americans" in w.word)
    assert 1.0 < americans.start < 3.0, americans  # said at about 1.8 s
    assert _words(" ".join(s.text for s in verbose.segments)) == _words(verbose.text)
    assert all(0 <= s.start < s.end <= 11.1 for s in verbose.segments)

    with JFK.open("rb") as fh:
        subtitles = client.audio.transcriptions.create(
            model="whisper-1", file=fh, response_format="srt"
        )
    assert isinstance(subtitles, str)
    cues = pysrt.from_string(subtitles)
    assert len(cues) >= 1
    assert SPOKEN in _words(" ".join(cue.text for cue in cues))
    assert cues[-1].end.ordinal <= 11_100


def test_each_call_is_an_ordinary_job(
    openai_api: ApiServer, worker: CeleryProcess, api_key: str
) -> None:
    client = _openai(openai_api, api_key)
    with JFK.open("rb") as fh:
        raw = client.audio.transcriptions.with_raw_response.create(
            model="whisper-1", file=fh, response_format="text", language="en"
        )
    text = raw.parse()
    assert isinstance(text, str) and SPOKEN in _words(text)
    job = _job(openai_api, api_key, raw.headers["x-job-id"])
    assert job["kind"] == "transcription" and job["status"] == "succeeded"
    assert job["options"]["model"] == "tiny.en"  # whisper-1 is the deployment's default model
    assert job["options"]["language"] == "en" and job["input"]["filename"] == "jfk.flac"
    assert raw.headers["location"] == f"/api/v1/jobs/{job['id']}"


def _running_job(
    api: ApiServer, key: str, call: dict[str, Any], timeout: float = 600
) -> dict[str, Any]:
    """The key's one job, once its worker is well into it (unless the call failed at once)."""
    deadline = time.monotonic() + timeout
    jobs: list[dict[str, Any]] = []
    while time.monotonic() < deadline and "error" not in call:
        answer = httpx.get(f"{api.url}/api/v1/jobs", headers={"X-API-Key": key}, timeout=30)
        assert answer.status_code == 200, answer.text
        jobs = answer.json()["data"]
        if jobs and jobs[0]["status"] == "running" and jobs[0]["progress"] >= 15:
            return dict(jobs[0])
        if jobs and jobs[0]["status"] not in ("queued", "running"):
            break
        time.sleep(0.3)
    raise AssertionError(f"no running job: {jobs} {call}")


def test_diarized_json_labels_speakers_and_survives_the_loss_of_its_worker(
    openai_api: ApiServer,
    worker: CeleryProcess,
    beat: CeleryProcess,
    api_key: str,
    pyannote_sample: Path,
) -> None:
    client = _openai(openai_api, api_key)
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            with (pyannote_sample / "sample.wav").open("rb") as fh:
                outcome["raw"] = client.audio.transcriptions.with_raw_response.create(
                    model="gpt-4o-transcribe-diarize",
                    file=fh,
                    response_format="diarized_json",
                    chunking_strategy="auto",
                    extra_body={"num_speakers": 2},
                )
        except Exception as exc:  # shown by the assertion below
            outcome["error"] = exc

    waiting = threading.Thread(target=call)
    waiting.start()
    running = _running_job(openai_api, api_key, outcome)
    children = worker.children()
    assert children, "the worker has no pool child"
    for pid in children:  # the pool process dies mid-job, as on an out-of-memory kill
        os.kill(pid, signal.SIGKILL)
    waiting.join(timeout=1500)
    assert "raw" in outcome, outcome
    diarized = outcome["raw"].parse()
    assert isinstance(diarized, TranscriptionDiarized)
    assert diarized.task == "transcribe" and abs(diarized.duration - 30.0) < 0.5
    assert {s.speaker for s in diarized.segments} == {"A", "B"}
    assert diarized.segments[0].speaker == "A"  # letters in the order speakers first talk
    assert all(s.type == "transcript.text.segment" and s.start < s.end for s in diarized.segments)
    assert len({s.id for s in diarized.segments}) == len(diarized.segments)
    assert _words(" ".join(s.text for s in diarized.segments)) == _words(diarized.text)
    # The waiting call got the job's second attempt, run after the reconciler took it back.
    assert outcome["raw"].headers["x-job-id"] == running["id"]
    assert _job(openai_api, api_key, running["id"])["attempts"] == 2


def test_stream_sends_the_transcript_as_events(
    openai_api: ApiServer, worker: CeleryProcess, api_key: str
) -> None:
    client = _openai(openai_api, api_key)
    with JFK.open("rb") as fh:
        events = list(
            client.audio.transcriptions.create(model="gpt-4o-mini-transcribe", file=fh, stream=True)
        )
    deltas = [e for e in events if isinstance(e, TranscriptionTextDeltaEvent)]
    done = events[-1]
    assert isinstance(done, TranscriptionTextDoneEvent), events
    assert deltas and "".join(d.delta for d in deltas) == done.text
    assert SPOKEN in _words(done.text)


def test_stream_of_speaker_labelled_segments_ends_with_them(
    openai_api: ApiServer, worker: CeleryProcess, api_key: str
) -> None:
    # One speaker per channel (split_channels): speaker-labelled segments without the cost of a
    # diarization model, which test_diarized_json_labels_speakers runs.
    client = _openai(openai_api, api_key)
    with (SHARED_DATA / "stereo_diarization.wav").open("rb") as fh:
        events = list(
            client.audio.transcriptions.create(
                model="whisper-1",
                file=fh,
                response_format="diarized_json",
                stream=True,
                extra_body={"split_channels": "true"},
            )
        )
    segments = [e for e in events if isinstance(e, TranscriptionTextSegmentEvent)]
    done = events[-1]
    assert isinstance(done, TranscriptionTextDoneEvent), events
    assert {s.speaker for s in segments} == {"A", "B"}
    wizard = {s.speaker for s in segments if "wizard" in _words(s.text)}
    horizon = {s.speaker for s in segments if "horizon" in _words(s.text)}
    assert len(wizard) == len(horizon) == 1 and wizard != horizon, segments  # one per channel
    assert _words(" ".join(s.text for s in segments)) == _words(done.text)


def test_translation_runs_on_a_multilingual_model(
    openai_api: ApiServer, worker: CeleryProcess, api_key: str
) -> None:
    client = _openai(openai_api, api_key)
    with JFK.open("rb") as fh:
        raw = client.audio.translations.with_raw_response.create(
            model="whisper-1", file=fh, response_format="verbose_json"
        )
    translation = raw.parse()
    assert translation.language == "english"
    assert "your country" in _words(translation.text)
    job = _job(openai_api, api_key, raw.headers["x-job-id"])
    # The default model (tiny.en) cannot translate: whisper-1 means the multilingual one here.
    assert job["options"]["task"] == "translate" and job["options"]["model"] == "base"


def test_errors_reach_the_client_in_openai_shape(openai_api: ApiServer, api_key: str) -> None:
    client = _openai(openai_api, api_key)
    with JFK.open("rb") as fh, pytest.raises(openai.BadRequestError) as refused:
        client.audio.transcriptions.create(
            model="large-v3",
            file=fh,
            language="xx",
            response_format="mp3",  # type: ignore[arg-type]
            extra_body={"diarise": "true"},
        )
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_request"
    problems = {p["field"]: p["code"] for p in error["details"]}
    assert problems == {
        "diarise": "unknown_parameter",
        "response_format": "invalid_request",
        "model": "model_unavailable",
        "language": "invalid_request",
    }
    assert "whisper-1" in error["message"] and "tiny.en" in error["message"]

    with JFK.open("rb") as fh, pytest.raises(openai.AuthenticationError) as unknown:
        _openai(openai_api, "sr_not_a_key").audio.transcriptions.create(model="whisper-1", file=fh)
    assert isinstance(unknown.value.body, dict) and unknown.value.body["code"] == "invalid_api_key"

    with pytest.raises(openai.BadRequestError) as empty:
        client.audio.transcriptions.create(model="whisper-1", file=("empty.wav", b""))
    assert isinstance(empty.value.body, dict) and empty.value.body["code"] == "empty_file"

    as_json = httpx.post(
        f"{openai_api.url}/v1/audio/transcriptions",
        headers={"Authorization": f"Bearer {api_key}"},
        json={"model": "whisper-1"},
        timeout=30,
    )
    assert as_json.status_code == 400
    assert as_json.json()["error"]["type"] == "invalid_request_error"
