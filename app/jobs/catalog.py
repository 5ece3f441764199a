"""What a transcription can ask for on this server: models, languages, limits."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.auth.deps import PrincipalDep
from app.config import get_settings
from app.jobs.schemas import WHISPER_LANGUAGES

router = APIRouter(prefix="/api/v1", tags=["jobs"])


class AsrModel(BaseModel):
    id: str
    english_only: bool = Field(description="English-only: language must be 'en', no translate")
    default: bool


class ModelCatalog(BaseModel):
    """The choices and limits of this deployment (a job's options are checked against them)."""

    data: list[AsrModel]
    default: str
    diarization_model: str
    languages: list[str] = Field(description="ISO 639-1 codes Whisper knows")
    max_speakers: int
    max_channels: int
    max_upload_bytes: int
    enhancement_provider: str


@router.get("/models", response_model=ModelCatalog)
def list_models(principal: PrincipalDep) -> ModelCatalog:
    """The ASR models a job may choose here, the diarization model, languages and limits."""
    settings = get_settings()
    names = sorted({settings.asr_model, *settings.asr_models})
    return ModelCatalog(
        data=[
            AsrModel(id=n, english_only=n.endswith(".en"), default=n == settings.asr_model)
            for n in names
        ],
        default=settings.asr_model,
        diarization_model=settings.diarization_model,
        languages=sorted(WHISPER_LANGUAGES),
        max_speakers=settings.max_speakers,
        max_channels=settings.max_channels,
        max_upload_bytes=settings.max_upload_bytes,
        enhancement_provider=settings.enhancement_provider,
    )
