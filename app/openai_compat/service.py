"""The OpenAI-compatible audio calls as ordinary jobs: check, queue, wait, answer.

A call becomes a transcription job like any other (stored input, job row, the same queue, rate
limits and active-job cap, visible in Flower, taken back by the reconciler if its worker dies),
and the request waits for that job, reading its row in short sessions, for at most
OPENAI_WAIT_SECONDS. Then the job's stored JSON result is rendered in OpenAI's shapes.

Model names: OpenAI's transcription models (whisper-1, gpt-4o-transcribe, ...) mean the
deployment's default model, ASR_MODEL; when the call needs a multilingual model (a translation,
or a language other than English) and ASR_MODEL is English-only, the first multilingual model of
ASR_MODELS. gpt-4o-transcribe-diarize and response_format=diarized_json turn diarization on.
Any name in ASR_MODELS is taken as it is.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from app.auth.service import Principal
from app.config import Settings
from app.db import session_scope
from app.errors import ApiError, InvalidRequest, NotFound, Problem, schema_problems, sound_values
from app.jobs import service as jobs
from app.jobs.dispatch import publish_job
from app.jobs.intake import check_transcription_request
from app.jobs.partial import read_partial_segments
from app.jobs.schemas import TranscriptionOptions
from app.models import TERMINAL_STATUSES, Job, JobStatus
from app.openai_compat.errors import error_type
from app.openai_compat.languages import language_name
from app.openai_compat.schemas import (
    EXTRA_OPTIONS,
    LIST_FIELDS,
    TRANSLATION_FIELDS,
    AudioRequest,
)
from app.ops.metrics import record_job_submitted
from app.storage import Storage, input_key

# OpenAI's transcription model names, dated snapshots included.
_OPENAI_MODEL = re.compile(
    r"whisper-1|gpt-transcribe|gpt-4o(-mini)?-transcribe(-diarize)?(-\d{4}-\d{2}-\d{2})?"
)
# Job failures caused by the recording or its URL (400); the others are the server's (500).
CLIENT_FAILURES = frozenset(
    {
        "invalid_media",
        "no_audio_stream",
        "empty_audio",
        "duration_exceeded",
        "input_too_large",
        "input_missing",
        "input_unavailable",
        "too_many_channels",
        "url_not_allowed",
        "url_unresolvable",
    }
)
KEEPALIVE_SECONDS = 15.0
# OpenAI's parameter names for the job options they set.
_PARAM_NAMES = {"initial_prompt": "prompt", "word_timestamps": "timestamp_granularities"}


def is_openai_model(name: str) -> bool:
    """Whether `name` is one of OpenAI's transcription model names."""
    return _OPENAI_MODEL.fullmatch(name) is not None


def resolve_model(name: str | None, *, multilingual: bool, settings: Settings) -> str | None:
    """The ASR model a call's `model` means here; None when this server does not have it."""
    allowed = [settings.asr_model, *[m for m in settings.asr_models if m != settings.asr_model]]
    if name is None or is_openai_model(name):
        if multilingual and settings.asr_model.endswith(".en"):
            return next((m for m in allowed if not m.endswith(".en")), settings.asr_model)
        return settings.asr_model
    return name if name in allowed else None


@dataclass(frozen=True)
class AudioCall:
    """A checked call: the job's options and how to answer."""

    task: str
    options: TranscriptionOptions
    response_format: str
    granularities: frozenset[str]
    stream: bool


def _split_fields(
    items: Iterable[tuple[str, str]], *, task: str
) -> tuple[dict[str, Any], dict[str, Any], list[Problem]]:
    """Form fields as OpenAI's (lists for `name[]`), the job's own extras, and unknown ones."""
    openai_fields = TRANSLATION_FIELDS if task == "translate" else set(AudioRequest.model_fields)
    standard: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    problems: list[Problem] = []
    for raw_name, value in items:
        name = raw_name.removesuffix("[]")
        if value == "" and name not in LIST_FIELDS:
            continue  # an empty form field means "not given", as in /api/v1/transcribe
        if name in LIST_FIELDS and name in openai_fields:
            standard.setdefault(name, []).append(value)
        elif name in openai_fields:
            standard[name] = value
        elif name in EXTRA_OPTIONS:
            extras[name] = value
        else:
            problems.append(Problem(raw_name, "unknown_parameter", "unknown parameter"))
    return standard, extras, problems


def check_audio_call(
    items: Iterable[tuple[str, str]],
    *,
    task: str,
    has_file: bool,
    settings: Settings,
    other_files: Iterable[str] = (),
) -> AudioCall:
    """Check every field of a call; InvalidRequest lists every problem (answered 400).

    `other_files` names file fields besides `file`. Runs the job's own checks too (model,
    language, webhook guard), so call it from a thread.
    """
    standard, extras, problems = _split_fields(items, task=task)
    if not has_file:
        problems.insert(0, Problem("file", "missing_file", "send the recording as 'file'"))
    problems.extend(
        Problem(name, "unknown_parameter", "unknown parameter (only 'file' takes a file)")
        for name in other_files
    )
    request: AudioRequest | None = None
    try:
        request = AudioRequest.model_validate(standard)
        values: dict[str, Any] = dict(request)
    except ValidationError as exc:
        problems.extend(schema_problems(exc.errors()))
        values = sound_values(AudioRequest, standard, exc.errors())
    if values.get("include"):
        problems.append(
            Problem("include", "unsupported_parameter", "token log probabilities are not offered")
        )
    if values.get("known_speaker_names") or values.get("known_speaker_references"):
        problems.append(
            Problem(
                "known_speaker_names",
                "unsupported_parameter",
                "known speakers are not supported; speakers are labelled A, B, ... in the "
                "order they first speak",
            )
        )
    response_format = values.get("response_format", "json")
    name = values.get("model")
    language = values.get("language")
    job: dict[str, Any] = {**extras, "task": task}
    multilingual = task == "translate" or (
        isinstance(language, str) and language.strip().lower() not in ("", "en")
    )
    model = resolve_model(name, multilingual=multilingual, settings=settings)
    if model is None:
        allowed = sorted({"whisper-1", settings.asr_model, *settings.asr_models})
        problems.append(
            Problem(
                "model",
                "model_unavailable",
                f"model {name!r} is not available here; use whisper-1 (or another OpenAI "
                f"transcription model name) for the server's default model ({settings.asr_model})"
                f", or one of: {', '.join(allowed)}",
            )
        )
    else:
        job["model"] = model
    diarizing = response_format == "diarized_json" or (
        name is not None and is_openai_model(name) and "diarize" in name
    )
    if diarizing and "diarize" not in extras and "split_channels" not in extras:
        job["diarize"] = True
    if language is not None:
        job["language"] = language
    if values.get("prompt"):
        job["initial_prompt"] = values["prompt"]
    if values.get("temperature"):
        job["temperature"] = values["temperature"]
    granularities = frozenset(values.get("timestamp_granularities") or ())
    job["word_timestamps"] = "word" in granularities
    options: TranscriptionOptions | None = None
    try:
        options = check_transcription_request(job, TranscriptionOptions, settings=settings)
    except InvalidRequest as invalid:
        problems.extend(
            Problem(_PARAM_NAMES.get(p.field, p.field), p.code, p.message) for p in invalid.problems
        )
    if options is not None and response_format == "diarized_json":
        if not (options.diarize or options.split_channels):
            problems.append(
                Problem(
                    "response_format",
                    "invalid_request",
                    "diarized_json needs diarization: leave diarize out or set it to true",
                )
            )
    if problems:
        raise InvalidRequest(problems)
    assert request is not None and options is not None
    return AudioCall(
        task=task,
        options=options,
        response_format=response_format,
        granularities=granularities,
        stream=request.stream,
    )


def create_audio_job(
    session: Session,
    *,
    principal: Principal,
    upload: UploadFile,
    call: AudioCall,
    settings: Settings,
    storage: Storage,
) -> Job:
    """Store the recording, add its job and send it, as POST /api/v1/transcribe does."""
    job_id = uuid.uuid4()
    key = input_key(job_id)
    size = storage.put_stream(key, upload.file)
    if size == 0:
        storage.delete_prefix(key)
        raise InvalidRequest([Problem("file", "empty_file", "the uploaded file is empty")])
    try:
        job, task_id = jobs.create_job(
            session,
            principal=principal,
            options=call.options,
            source=jobs.JobInputSpec(
                input_key=key, filename=(upload.filename or "")[:255] or None, size_bytes=size
            ),
            settings=settings,
            job_id=job_id,
            checked=True,
        )
        if call.stream:  # the worker then writes segments as it decodes them (app/jobs/partial)
            job.options = {**job.options, "stream": True}
        session.commit()
    except BaseException:
        storage.delete_prefix(key)
        raise
    record_job_submitted(job.kind)
    publish_job(job.id, job.kind, task_id)
    return job


@dataclass(frozen=True)
class JobState:
    """What a waiting call needs to know of its job."""

    status: str
    error_code: str | None
    error_message: str | None


def job_state(job_id: uuid.UUID, principal: Principal) -> JobState | None:
    """The job's status in a short session; None when it was deleted meanwhile."""
    with session_scope() as session:
        try:
            job = jobs.get_job(session, principal=principal, job_id=job_id)
        except NotFound:
            return None
        return JobState(job.status, job.error_code, job.error_message)


def _ended(state: JobState | None) -> bool:
    return state is None or JobStatus(state.status) in TERMINAL_STATUSES


async def wait_for_job(
    job_id: uuid.UUID,
    principal: Principal,
    *,
    deadline: float,
    poll_seconds: float,
    disconnected: Callable[[], Awaitable[bool]],
) -> tuple[bool, JobState | None]:
    """Wait until the job ends, the deadline passes or the client leaves; (ended, state)."""
    while True:
        state = await run_in_threadpool(job_state, job_id, principal)
        if _ended(state):
            return True, state
        if time.monotonic() >= deadline or await disconnected():
            return False, state
        await asyncio.sleep(poll_seconds)


def read_result(job_id: uuid.UUID, principal: Principal, fmt: str, storage: Storage) -> bytes:
    """A succeeded job's stored result in one format."""
    with session_scope() as session:
        return jobs.read_transcript(
            session, principal=principal, job_id=job_id, fmt=fmt, storage=storage
        )


def load_result(job_id: uuid.UUID, principal: Principal, storage: Storage) -> dict[str, Any]:
    """A succeeded job's JSON result."""
    result: dict[str, Any] = json.loads(read_result(job_id, principal, "json", storage))
    return result


# --- Answers ---------------------------------------------------------------------------------


def timeout_message(job_id: uuid.UUID, wait_seconds: float) -> str:
    """What a client is told when its job outlasts the wait."""
    return (
        f"The transcription job {job_id} did not finish within {wait_seconds:g} s "
        "(OPENAI_WAIT_SECONDS). It goes on: follow it with GET /api/v1/jobs/"
        f"{job_id} and read the result with GET /api/v1/jobs/{job_id}/transcript."
    )


def failure(job_id: uuid.UUID, state: JobState | None) -> tuple[int, str, str]:
    """Status, code and message for a job that ended without a result."""
    if state is None:
        return 404, "job_deleted", f"The transcription job {job_id} was deleted."
    if state.status == JobStatus.CANCELED:
        return 409, "job_canceled", f"The transcription job {job_id} was canceled."
    code = state.error_code or "internal_error"
    status = 400 if code in CLIENT_FAILURES else 500
    return status, code, f"The transcription job {job_id} failed: {state.error_message or code}"


def _usage(result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "duration", "seconds": math.ceil(float(result.get("duration") or 0))}


def compression_ratio(text: str) -> float:
    """gzip-style compression ratio of a segment's text, as Whisper computes it."""
    data = text.encode("utf-8")
    return round(len(data) / len(zlib.compress(data)), 3) if data else 0.0


def _letters(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def speaker_letters(segments: list[dict[str, Any]]) -> dict[str, str]:
    """Speakers as OpenAI's diarizing model names them: A, B, ... in order of first speech."""
    names: dict[str, str] = {}
    for segment in segments:
        speaker = segment.get("speaker")
        if speaker and speaker not in names:
            names[speaker] = _letters(len(names))
    return names


def _words(result: dict[str, Any]) -> list[dict[str, Any]]:
    words = result.get("words")
    if not words:  # words may live inside their segments
        words = [w for s in result.get("segments", []) for w in s.get("words") or []]
    return [{"word": w["word"], "start": w["start"], "end": w["end"]} for w in words]


def verbose_json(result: dict[str, Any], call: AudioCall) -> dict[str, Any]:
    """OpenAI's verbose_json: language by name, segments and/or words."""
    body: dict[str, Any] = {
        "task": call.task,
        "language": "english" if call.task == "translate" else language_name(result["language"]),
        "duration": result["duration"],
        "text": result["text"],
    }
    if "segment" in call.granularities or not call.granularities:
        temperature = float(call.options.temperature or 0.0)
        body["segments"] = [
            {
                "id": segment["id"],
                "seek": round(segment["start"] * 100),  # 10-ms frames, as Whisper counts
                "start": segment["start"],
                "end": segment["end"],
                "text": segment["text"],
                "tokens": [],  # token ids are not kept
                "temperature": temperature,
                "avg_logprob": segment.get("avg_logprob"),
                "compression_ratio": compression_ratio(segment["text"]),
                "no_speech_prob": segment.get("no_speech_prob"),
                **({"speaker": segment["speaker"]} if segment.get("speaker") else {}),
            }
            for segment in result["segments"]
        ]
    if "word" in call.granularities:
        body["words"] = _words(result)
    body["usage"] = _usage(result)
    return body


def diarized_segments(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The transcript's segments as gpt-4o-transcribe-diarize's `transcript.text.segment`s."""
    letters = speaker_letters(result["segments"])
    return [
        {
            "type": "transcript.text.segment",
            "id": f"seg_{segment['id']:03d}",
            "start": segment["start"],
            "end": segment["end"],
            "text": segment["text"],
            "speaker": letters.get(segment.get("speaker") or "", "unknown"),
        }
        for segment in result["segments"]
    ]


def diarized_json(result: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's diarized_json."""
    return {
        "task": "transcribe",
        "duration": result["duration"],
        "text": result["text"],
        "segments": diarized_segments(result),
        "usage": _usage(result),
    }


def json_body(result: dict[str, Any], call: AudioCall) -> dict[str, Any]:
    """The JSON answer for json, verbose_json and diarized_json."""
    if call.response_format == "verbose_json":
        return verbose_json(result, call)
    if call.response_format == "diarized_json":
        return diarized_json(result)
    return {"text": result["text"], "usage": _usage(result)}


# --- Streaming -------------------------------------------------------------------------------


def sse(data: dict[str, Any]) -> bytes:
    """One Server-Sent Event carrying JSON, as OpenAI's stream sends them."""
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def stream_job(
    job_id: uuid.UUID,
    principal: Principal,
    call: AudioCall,
    *,
    storage: Storage,
    deadline: float,
    poll_seconds: float,
    wait_seconds: float,
) -> AsyncIterator[bytes]:
    """The job as OpenAI's transcription stream: `transcript.text.delta` for each segment as
    the worker decodes it, then at the end the rest of the text, `transcript.text.segment` for
    each speaker-labelled segment (diarized_json) and `transcript.text.done`; an `error` event
    when the job fails or outlasts the wait."""
    streamed = ""
    count = 0
    last_sent = time.monotonic()
    while True:
        state = await run_in_threadpool(job_state, job_id, principal)
        if state is not None and state.status == JobStatus.SUCCEEDED:
            result = await run_in_threadpool(load_result, job_id, principal, storage)
            text = result["text"]
            if text.startswith(streamed) and len(text) > len(streamed):
                yield sse({"type": "transcript.text.delta", "delta": text[len(streamed) :]})
            if call.response_format == "diarized_json":
                for segment in diarized_segments(result):
                    yield sse(segment)
            yield sse({"type": "transcript.text.done", "text": text})
            return
        if _ended(state):
            status, code, message = failure(job_id, state)
            yield sse({"error": {"message": message, "type": error_type(status), "code": code}})
            return
        segments = await run_in_threadpool(read_partial_segments, job_id, storage)
        for segment in segments[count:]:
            delta = segment["text"] if not streamed else " " + segment["text"]
            streamed += delta
            last_sent = time.monotonic()
            yield sse({"type": "transcript.text.delta", "delta": delta})
        count = max(count, len(segments))
        if time.monotonic() >= deadline:
            message = timeout_message(job_id, wait_seconds)
            yield sse({"error": {"message": message, "type": "timeout", "code": "job_timeout"}})
            return
        if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
            last_sent = time.monotonic()
            yield b": keep-alive\n\n"
        await asyncio.sleep(poll_seconds)


def refuse_content_type() -> ApiError:
    """The answer to a body that is not multipart."""
    return ApiError(
        400,
        "unsupported_content_type",
        "Send multipart/form-data with the recording in 'file', as OpenAI's API takes it.",
    )
