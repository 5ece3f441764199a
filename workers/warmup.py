"""Model warm-up for transcription workers: load once per process, before the first job."""

from __future__ import annotations

import logging
import time

from app.config import Settings

log = logging.getLogger(__name__)


def warm_up(settings: Settings) -> dict[str, float]:
    """Load the default models named in WARMUP; returns seconds spent per model."""
    from app.pipeline.audio import ffmpeg_available

    if not ffmpeg_available():
        raise RuntimeError("ffmpeg and ffprobe must be on PATH for a transcription worker")
    spent: dict[str, float] = {}
    if "asr" in settings.warmup:
        from app.pipeline.asr import get_asr_engine

        tick = time.perf_counter()
        get_asr_engine(settings.asr_model, settings)
        spent["asr"] = time.perf_counter() - tick
    if "diarization" in settings.warmup:
        from app.pipeline.diarize import get_diarizer

        tick = time.perf_counter()
        get_diarizer(settings.diarization_model, settings)
        spent["diarization"] = time.perf_counter() - tick
    log.info("worker warm-up done: %s", {k: round(v, 1) for k, v in spent.items()})
    return spent
