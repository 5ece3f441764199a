"""How OpenAI-style calls are read and answered: model names, checks, shapes, bearer keys."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.errors import InvalidRequest
from app.jobs.schemas import WHISPER_LANGUAGES
from app.openai_compat import service
from app.openai_compat.languages import LANGUAGE_NAMES


def _settings(**update: Any) -> Any:
    return get_settings().model_copy(update=update)


def test_openai_model_names_mean_the_default_model() -> None:
    settings = _settings(asr_model="tiny.en", asr_models=["tiny.en", "base"])
    for name in ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe-2025-12-15", None):
        assert service.resolve_model(name, multilingual=False, settings=settings) == "tiny.en"
        # A translation or another language needs a multilingual model: the first one listed.
        assert service.resolve_model(name, multilingual=True, settings=settings) == "base"
    assert service.resolve_model("base", multilingual=False, settings=settings) == "base"
    assert service.resolve_model("large-v3", multilingual=False, settings=settings) is None
    assert service.resolve_model("gpt-5", multilingual=False, settings=settings) is None
    only_english = _settings(asr_model="tiny.en", asr_models=["tiny.en"])
    assert service.resolve_model("whisper-1", multilingual=True, settings=only_english) == (
        "tiny.en"  # the job check then says why it cannot translate
    )


def test_a_call_becomes_job_options() -> None:
    call = service.check_audio_call(
        [
            ("model", "gpt-4o-transcribe-diarize"),
            ("response_format", "diarized_json"),
            ("prompt", "A call about invoices."),
            ("temperature", "0.2"),
            ("language", "en"),
            ("chunking_strategy", "auto"),
            ("num_speakers", "2"),
            ("hotwords", "Scribe Rabbit"),
        ],
        task="transcribe",
        has_file=True,
        settings=get_settings(),
    )
    options = call.options
    assert options.diarize is True and options.num_speakers == 2
    assert options.model == get_settings().asr_model and options.language == "en"
    assert options.initial_prompt == "A call about invoices." and options.temperature == 0.2
    assert options.hotwords == "Scribe Rabbit" and options.word_timestamps is False
    assert call.response_format == "diarized_json" and not call.stream

    verbose = service.check_audio_call(
        [
            ("timestamp_granularities[]", "word"),
            ("timestamp_granularities[]", "segment"),
            ("response_format", "verbose_json"),
            ("stream", "true"),
        ],
        task="transcribe",
        has_file=True,
        settings=get_settings(),
    )
    assert verbose.granularities == {"word", "segment"} and verbose.options.word_timestamps
    assert verbose.stream and verbose.options.diarize is False


def test_every_problem_of_a_call_is_listed_once() -> None:
    with pytest.raises(InvalidRequest) as refused:
        service.check_audio_call(
            [
                ("model", "whisper-1"),
                ("language", "de"),  # allowed: whisper-1 then means the multilingual model
                ("temperature", "1.5"),
                ("response_format", "diarized_json"),
                ("diarize", "false"),
                ("known_speaker_names[]", "agent"),
                ("include[]", "logprobs"),
                ("speakers", "2"),
                ("prompt", "x" * 2000),
            ],
            task="transcribe",
            has_file=False,
            settings=get_settings(),
        )
    problems = {p.field: p.code for p in refused.value.problems}
    assert problems == {
        "file": "missing_file",
        "speakers": "unknown_parameter",
        "temperature": "invalid_request",
        "prompt": "invalid_request",
        "include": "unsupported_parameter",
        "known_speaker_names": "unsupported_parameter",
        "response_format": "invalid_request",  # diarized_json with diarize=false
    }
    with pytest.raises(InvalidRequest) as refused:
        service.check_audio_call(
            [("response_format", "diarized_json"), ("diarize", "false")],
            task="transcribe",
            has_file=True,
            settings=get_settings(),
        )
    assert [p.field for p in refused.value.problems] == ["response_format"]


def test_translations_take_only_their_fields() -> None:
    with pytest.raises(InvalidRequest) as refused:
        service.check_audio_call(
            [("model", "whisper-1"), ("language", "de"), ("timestamp_granularities[]", "word")],
            task="translate",
            has_file=True,
            settings=get_settings(),
        )
    assert {p.field: p.code for p in refused.value.problems} == {
        "language": "unknown_parameter",
        "timestamp_granularities[]": "unknown_parameter",
    }


RESULT: dict[str, Any] = {
    "language": "de",
    "duration": 4.25,
    "text": "Hallo zusammen. Guten Tag.",
    "segments": [
        {"id": 0, "start": 0.0, "end": 1.5, "text": "Hallo zusammen.", "speaker": "SPEAKER_01"},
        {"id": 1, "start": 1.7, "end": 4.2, "text": "Guten Tag.", "speaker": "SPEAKER_00"},
    ],
    "words": [
        {"start": 0.0, "end": 0.6, "word": "Hallo", "probability": 0.9, "speaker": "SPEAKER_01"},
        {"start": 0.7, "end": 1.5, "word": "zusammen.", "probability": 0.8, "speaker": "S1"},
    ],
}


def _call(fmt: str, granularities: frozenset[str] = frozenset()) -> service.AudioCall:
    from app.jobs.schemas import TranscriptionOptions

    return service.AudioCall("transcribe", TranscriptionOptions(), fmt, granularities, False)


def test_response_shapes() -> None:
    plain = service.json_body(RESULT, _call("json"))
    assert plain == {"text": RESULT["text"], "usage": {"type": "duration", "seconds": 5}}

    verbose = service.json_body(RESULT, _call("verbose_json"))
    assert verbose["language"] == "german" and verbose["task"] == "transcribe"
    assert "words" not in verbose and len(verbose["segments"]) == 2  # segments by default
    first = verbose["segments"][0]
    assert first["seek"] == 0 and first["tokens"] == [] and first["compression_ratio"] > 0
    assert first["speaker"] == "SPEAKER_01"
    words = service.json_body(RESULT, _call("verbose_json", frozenset({"word"})))
    assert "segments" not in words
    assert words["words"][1] == {"word": "zusammen.", "start": 0.7, "end": 1.5}

    diarized = service.json_body(RESULT, _call("diarized_json"))
    assert diarized["task"] == "transcribe" and diarized["duration"] == 4.25
    assert [(s["speaker"], s["id"], s["type"]) for s in diarized["segments"]] == [
        ("A", "seg_000", "transcript.text.segment"),  # whoever speaks first is A
        ("B", "seg_001", "transcript.text.segment"),
    ]


def test_helpers() -> None:
    assert set(LANGUAGE_NAMES) == WHISPER_LANGUAGES
    assert [service._letters(i) for i in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]
    repetitive = service.compression_ratio("ha " * 50)
    assert repetitive > 2.4 > service.compression_ratio("And so my fellow Americans")
    status, code, _ = service.failure(
        __import__("uuid").uuid4(), service.JobState("failed", "invalid_media", "no audio")
    )
    assert (status, code) == (400, "invalid_media")


@pytest.mark.integration
def test_bearer_key_works_on_every_api(client: TestClient, api_key: str) -> None:
    bearer = {"Authorization": f"Bearer {api_key}"}
    assert client.get("/api/v1/jobs", headers=bearer).status_code == 200
    basic = client.get("/api/v1/jobs", headers={"Authorization": f"Basic {api_key}"})
    assert basic.status_code == 401 and basic.json()["error"]["code"] == "missing_api_key"
    wrong = client.get("/api/v1/jobs", headers={"Authorization": "Bearer sr_nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    # OpenAI's shape on /v1, for the same refusals.
    missing = client.post("/v1/audio/transcriptions", files={"file": ("a.wav", b"RIFF")})
    assert missing.status_code == 401
    assert missing.json()["error"] == {
        "message": missing.json()["error"]["message"],
        "type": "authentication_error",
        "param": None,
        "code": "missing_api_key",
    }
    no_file = client.post(
        "/v1/audio/translations",
        headers=bearer,
        data={"model": "whisper-1"},
        files={"recording": ("a.wav", b"RIFF")},
    )
    assert no_file.status_code == 400, no_file.text
    assert {p["field"] for p in no_file.json()["error"]["details"]} == {"file", "recording"}
