"""Request and response shapes of the OpenAI-compatible audio endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.jobs.schemas import TranscriptionOptions

ResponseFormat = Literal["json", "text", "srt", "verbose_json", "vtt", "diarized_json"]
Granularity = Literal["word", "segment"]


class AudioRequest(BaseModel):
    """OpenAI's own fields of POST /v1/audio/transcriptions (translations take a subset)."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        None,
        description="whisper-1 or another OpenAI transcription model name (the server's default "
        "model), or a name from the server's ASR_MODELS",
    )
    language: str | None = Field(None, description="ISO 639-1 code; detected when absent")
    prompt: str | None = Field(None, max_length=1000, description="Text to guide the style")
    response_format: ResponseFormat = "json"
    temperature: float = Field(0, ge=0, le=1)
    timestamp_granularities: list[Granularity] = Field(
        default_factory=list,
        description="verbose_json: `segment` (the default) and/or `word` timestamps",
    )
    stream: bool = Field(False, description="Send the transcript as Server-Sent Events")
    chunking_strategy: str | None = Field(
        None, description="Accepted for compatibility; voice activity detection always runs"
    )
    include: list[str] = Field(default_factory=list, description="Not supported (logprobs)")
    known_speaker_names: list[str] = Field(default_factory=list, description="Not supported")
    known_speaker_references: list[str] = Field(default_factory=list, description="Not supported")


# Scribe Rabbit's own job options a client may add as extra form fields (diarize=true, ...);
# the others are set from OpenAI's fields (task from the endpoint, initial_prompt from prompt,
# word_timestamps from the granularities) or shared with them (model, language, temperature).
EXTRA_OPTIONS = frozenset(TranscriptionOptions.model_fields) - {
    "model",
    "language",
    "task",
    "initial_prompt",
    "word_timestamps",
    "temperature",
}
# Fields sent as arrays ("timestamp_granularities[]=word").
LIST_FIELDS = frozenset(
    {"timestamp_granularities", "include", "known_speaker_names", "known_speaker_references"}
)
TRANSLATION_FIELDS = frozenset(
    {"model", "prompt", "response_format", "temperature", "stream", "chunking_strategy"}
)


def form_schema(*, translation: bool) -> dict[str, Any]:
    """The multipart body as the OpenAPI document shows it."""
    fields = AudioRequest.model_json_schema()["properties"]
    names = TRANSLATION_FIELDS if translation else set(fields)
    properties: dict[str, Any] = {"file": {"type": "string", "format": "binary"}}
    for name, schema in fields.items():
        if name in names:
            key = f"{name}[]" if name in LIST_FIELDS else name
            properties[key] = schema
    for name in sorted(EXTRA_OPTIONS):
        properties[name] = {"type": "string", "description": "a Scribe Rabbit job option"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "required": ["file"], "properties": properties}
                }
            },
        }
    }


class TranscriptionJson(BaseModel):
    """response_format=json."""

    text: str
    usage: dict[str, Any] | None = None


class Segment(BaseModel):
    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float | None
    compression_ratio: float
    no_speech_prob: float | None
    speaker: str | None = Field(None, description="With diarize=true")


class Word(BaseModel):
    word: str
    start: float
    end: float


class TranscriptionVerbose(BaseModel):
    """response_format=verbose_json."""

    task: Literal["transcribe", "translate"]
    language: str
    duration: float
    text: str
    segments: list[Segment] | None = None
    words: list[Word] | None = None
    usage: dict[str, Any] | None = None


class DiarizedSegment(BaseModel):
    type: Literal["transcript.text.segment"] = "transcript.text.segment"
    id: str
    start: float
    end: float
    text: str
    speaker: str


class TranscriptionDiarized(BaseModel):
    """response_format=diarized_json (the shape of OpenAI's gpt-4o-transcribe-diarize)."""

    task: Literal["transcribe"] = "transcribe"
    duration: float
    text: str
    segments: list[DiarizedSegment]
    usage: dict[str, Any] | None = None


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The transcript in the requested response_format, or with stream=true "
        "Server-Sent Events: transcript.text.delta while it runs, transcript.text.segment "
        "(diarized_json) and transcript.text.done at the end",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "text/event-stream": {"schema": {"type": "string"}},
        },
    },
    400: {"description": "Every problem of the request, in OpenAI's error shape"},
    504: {"description": "The job did not end within OPENAI_WAIT_SECONDS; the error names it"},
}
# What the route documents as its JSON answer (it builds its Response itself).
TranscriptionResponse = TranscriptionJson | TranscriptionVerbose | TranscriptionDiarized
