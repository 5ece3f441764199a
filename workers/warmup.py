"""Model warm-up for transcription workers: load once per process, before the first job."""

from __future__ import annotations

import logging
import time
from typing import Any

from app.config import Settings

log = logging.getLogger(__name__)


def warm_up(settings: Settings) -> dict[str, Any]:
    """Check ffmpeg and the GPU, load the models named in WARMUP; returns what was checked and
    loaded (this pool process's readiness report). Raises when the process cannot take jobs."""
    from app.pipeline.audio import ffmpeg_available

    if not ffmpeg_available():
        raise RuntimeError("ffmpeg and ffprobe must be on PATH for a transcription worker")
    checks: dict[str, Any] = {"ffmpeg": True, "device": settings.device, "models": {}}
    if settings.device == "cuda":
        import ctranslate2

        devices = ctranslate2.get_cuda_device_count()
        if devices < 1:
            raise RuntimeError("DEVICE=cuda but no CUDA device is visible to this process")
        checks["gpu_devices"] = devices
    if "asr" in settings.warmup:
        from app.pipeline.asr import get_asr_engine

        tick = time.perf_counter()
        get_asr_engine(settings.asr_model, settings)
        checks["models"]["asr"] = {
            "name": settings.asr_model,
            "load_seconds": round(time.perf_counter() - tick, 2),
        }
    if "diarization" in settings.warmup:
        from app.pipeline.diarize import get_diarizer

        tick = time.perf_counter()
        get_diarizer(settings.diarization_model, settings)
        checks["models"]["diarization"] = {
            "name": settings.diarization_model,
            "load_seconds": round(time.perf_counter() - tick, 2),
        }
    log.info("worker warm-up done: %s", checks)
    return checks
