"""Request and response shapes of the enhanced-AI API."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from app.jobs.schemas import JobOut


class EnhanceRequest(BaseModel):
    """What a client may ask of the enhancement step."""

    model_config = ConfigDict(extra="forbid")

    transcription_job_id: uuid.UUID = Field(description="A succeeded transcription job of yours")
    enable_summarization: bool = True
    enable_entity_extraction: bool = True
    llm_model: str | None = Field(
        None, min_length=1, max_length=200, description="Model name (OpenAI-compatible provider)"
    )
    webhook_url: AnyHttpUrl | None = None
    webhook_include_result: bool = Field(
        False, description="Put the whole result in the webhook payload, not only links"
    )
    recording_id: str | None = Field(
        None, max_length=200, description="Your reference; the transcription's when absent"
    )


class EnhancementOut(BaseModel):
    """An enhancement job and, once it has succeeded, its result."""

    job: JobOut
    result: dict[str, Any] | None = Field(
        None, description="summary, key_points, entities and speaker_turns"
    )
