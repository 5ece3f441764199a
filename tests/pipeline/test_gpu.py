"""The same pipeline on CUDA. Runs only where a GPU is visible; skipped with a reason on CPU."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA


def _cuda_devices() -> int:
    try:
        import ctranslate2
    except ImportError:
        return 0
    try:
        return int(ctranslate2.get_cuda_device_count())
    except Exception:
        return 0


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(_cuda_devices() == 0, reason="no CUDA device visible to CTranslate2"),
]


def test_pipeline_runs_on_cuda() -> None:
    from app.config import get_settings
    from app.pipeline.transcribe import transcribe_file

    settings = get_settings().model_copy(update={"device": "cuda", "compute_type": "default"})
    result = transcribe_file(
        SHARED_DATA / "jfk.flac",
        {"diarize": True},
        settings=settings,
        progress=lambda stage, pct: None,
        should_stop=lambda: None,
    )
    assert "ask not what your country" in result["text"].lower().replace(",", "")
    assert result["models"]["asr"]["device"] == "cuda"
    assert result["models"]["asr"]["compute_type"] == "float16"
