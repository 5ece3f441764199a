"""Request and response shapes of the jobs API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from app.models import Job

# The languages Whisper knows (faster_whisper.tokenizer._LANGUAGE_CODES), kept here so the API
# can validate without importing the ML stack.
WHISPER_LANGUAGES = frozenset(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw "
    "he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my "
    "ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt "
    "uk ur uz vi yi yo zh yue".split()
)

# The ASR engines this server runs; `engine` in a request must name one of them.
KNOWN_ENGINES = ("faster-whisper",)


class TranscriptionOptions(BaseModel):
    """What a client may ask of a transcription."""

    model_config = ConfigDict(extra="forbid")

    engine: str | None = Field(
        None, description=f"ASR engine: {', '.join(KNOWN_ENGINES)} (the only one known)"
    )
    model: str | None = Field(
        None,
        description="ASR model, one of the server's ASR_MODELS (a packaged name, a Hugging Face "
        "id or a local folder); the server default (ASR_MODEL) when absent",
    )
    language: str | None = Field(None, description="ISO 639-1 code; detected when absent")
    task: Literal["transcribe", "translate"] = "transcribe"
    diarize: bool = False
    num_speakers: int | None = Field(None, ge=1, le=100)
    min_speakers: int | None = Field(None, ge=1, le=100)
    max_speakers: int | None = Field(None, ge=1, le=100)
    word_timestamps: bool = True
    vad_filter: bool = True
    initial_prompt: str | None = Field(None, max_length=1000)
    temperature: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Sampling temperature; absent or 0 decodes greedily and samples hotter only "
        "where a segment fails its quality checks",
    )
    hotwords: str | None = Field(None, max_length=500)
    webhook_url: AnyHttpUrl | None = None
    webhook_include_result: bool = Field(
        False, description="Put the whole JSON result in the webhook payload, not only links"
    )
    recording_id: str | None = Field(None, max_length=200)
    # Inputs and storage (issue 3).
    split_channels: bool = Field(
        False,
        description="Transcribe each audio channel on its own; speakers are the channels "
        "(CHANNEL_00, CHANNEL_01, ...), as in call-centre stereo recordings",
    )
    retention: timedelta | None = Field(
        None,
        description="How long inputs and results are kept after the job ends, as ISO 8601 "
        "(P7D, PT12H) or seconds; the server's RETENTION_DAYS when absent",
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if value not in WHISPER_LANGUAGES:
            raise ValueError(f"unknown language code {value!r}; use an ISO 639-1 code such as 'en'")
        return value

    @model_validator(mode="after")
    def _speaker_counts(self) -> TranscriptionOptions:
        counts = (self.num_speakers, self.min_speakers, self.max_speakers)
        if any(c is not None for c in counts) and not self.diarize:
            raise ValueError("num_speakers, min_speakers and max_speakers need diarize=true")
        if self.num_speakers is not None and (self.min_speakers or self.max_speakers):
            raise ValueError("give either num_speakers or min_speakers/max_speakers, not both")
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers is larger than max_speakers")
        if self.split_channels and self.diarize:
            raise ValueError("split_channels labels speakers by channel; do not set diarize too")
        if self.retention is not None and self.retention.total_seconds() < 60:
            raise ValueError("retention must be at least one minute")
        return self


class TranscribeUrlRequest(TranscriptionOptions):
    """JSON body of POST /transcribe: a URL the worker fetches, or a direct upload's id."""

    url: str | None = Field(
        None,
        max_length=4096,
        description="http(s) URL of the recording, or s3://bucket/key or gs://bucket/key "
        "in a bucket the server opens to inputs",
    )
    upload_id: uuid.UUID | None = Field(
        None, description="id of a finished direct upload (POST /api/v1/uploads)"
    )

    @model_validator(mode="after")
    def _one_input(self) -> TranscribeUrlRequest:
        if (self.url is None) == (self.upload_id is None):
            raise ValueError("give exactly one of url and upload_id")
        return self


class JobError(BaseModel):
    code: str
    message: str


class JobInput(BaseModel):
    filename: str | None = None
    size_bytes: int | None = None
    url: str | None = None


class JobModels(BaseModel):
    asr: str | None = None
    diarization: str | None = None
    worker: str | None = None


class JobLinks(BaseModel):
    self: str
    transcript: str
    cancel: str


class JobOut(BaseModel):
    """A job as the API shows it."""

    id: uuid.UUID
    kind: str
    status: str
    stage: str | None
    progress: int
    recording_id: str | None
    options: dict[str, Any]
    input: JobInput
    error: JobError | None
    attempts: int
    language: str | None
    audio_duration: float | None
    models: JobModels
    timings: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(
        None, description="when retention deletes the input and results (once the job ended)"
    )
    purged_at: datetime | None = Field(
        None, description="when the input and results were deleted by retention"
    )
    speaker_names: dict[str, str] = Field(
        default_factory=dict,
        description="names given to speaker labels (PATCH); every transcript format uses them",
    )
    links: JobLinks


class JobPage(BaseModel):
    """One page of jobs, newest first; pass `next_cursor` as `cursor` for the next page."""

    data: list[JobOut]
    next_cursor: str | None


def job_out(job: Job) -> JobOut:
    """Present a job row to its owner."""
    base = f"/api/v1/jobs/{job.id}"
    error = (
        JobError(code=job.error_code, message=job.error_message or "") if job.error_code else None
    )
    if job.status in ("queued", "running") and error is not None:
        error = None  # a transient error of an earlier attempt; the job goes on
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        stage=job.stage,
        progress=job.progress,
        recording_id=job.recording_id,
        options=job.options,
        input=JobInput(filename=job.input_filename, size_bytes=job.input_bytes, url=job.input_url),
        error=error,
        attempts=job.attempts,
        language=job.language,
        audio_duration=job.audio_duration,
        models=JobModels(
            asr=job.asr_model, diarization=job.diarization_model, worker=job.worker_version
        ),
        timings=job.timings,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        expires_at=job.expires_at or retention_deadline(job),
        purged_at=job.purged_at,
        speaker_names=job.speaker_names or {},
        links=JobLinks(self=base, transcript=f"{base}/transcript", cancel=f"{base}/cancel"),
    )


def retention_deadline(job: Job) -> datetime | None:
    """When a finished job's input and results expire (None: kept, or not finished yet)."""
    if job.retention_seconds is None or job.finished_at is None:
        return None
    return job.finished_at + timedelta(seconds=job.retention_seconds)


class JobUpdate(BaseModel):
    """PATCH body of a job: what a person may change once it has finished."""

    model_config = ConfigDict(extra="forbid")

    speaker_names: dict[str, str | None] = Field(
        description='Names for speaker labels, e.g. {"SPEAKER_00": "Alice"}; merged into '
        "the names already given; null or an empty string removes a name",
        max_length=200,
    )
