"""The pipeline on real recordings, in-process: options reach the engine, models resolve offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.config import get_settings
from app.pipeline.errors import PipelineError
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow


def _run(path: Path, **options: Any) -> dict[str, Any]:
    from app.pipeline.transcribe import transcribe_file

    return transcribe_file(
        path,
        options,
        settings=get_settings(),
        progress=lambda s, p: None,
        should_stop=lambda: None,
    )


def test_hotwords_steer_the_spelling() -> None:
    plain = _run(SHARED_DATA / "hotwords.mp3")
    steered = _run(SHARED_DATA / "hotwords.mp3", hotwords="ComfyUI")
    assert "ComfyUI" not in plain["text"]
    assert "ComfyUI" in steered["text"]


def test_multilingual_base_model_is_assembled_from_its_wheels() -> None:
    result = _run(SHARED_DATA / "jfk.flac", model="base")
    assert result["models"]["asr"]["name"] == "base"
    assert result["language"] == "en"
    assert "ask not what your country" in result["text"].lower().replace(",", "")
    assert (get_settings().models_dir / "whisper-base" / "model.bin").stat().st_size > 100e6


def test_progress_rises_to_the_end_and_stop_aborts() -> None:
    from app.pipeline.errors import JobCanceled
    from app.pipeline.transcribe import transcribe_file

    seen: list[int] = []
    transcribe_file(
        SHARED_DATA / "jfk.flac",
        {},
        settings=get_settings(),
        progress=lambda s, p: seen.append(p),
        should_stop=lambda: None,
    )
    assert seen == sorted(seen) and seen[-1] >= 90

    def stop() -> None:
        raise JobCanceled("stop")

    with pytest.raises(JobCanceled):
        transcribe_file(
            SHARED_DATA / "jfk.flac",
            {},
            settings=get_settings(),
            progress=lambda s, p: None,
            should_stop=stop,
        )


def test_models_resolve_offline_by_name_and_path(tmp_path: Path) -> None:
    from app.pipeline.asr import get_asr_engine, resolve_model

    settings = get_settings()
    tiny = resolve_model("tiny.en", settings=settings)
    assert tiny.local and tiny.source == "package" and Path(tiny.location, "model.bin").exists()
    by_path = resolve_model(tiny.location, settings=settings)
    assert by_path.source == "path"
    with pytest.raises(PipelineError) as not_a_model:
        resolve_model(str(tmp_path), settings=settings)
    assert not_a_model.value.code == "model_unavailable"
    assert resolve_model("large-v3", settings=settings).source == "hub"
    with pytest.raises(PipelineError) as offline:
        get_asr_engine("Systran/faster-whisper-large-v3", settings)
    assert offline.value.code == "model_unavailable"
    assert "ALLOW_MODEL_DOWNLOADS" in offline.value.message


def test_pyannote_usage_telemetry_is_off() -> None:
    from pyannote.audio.telemetry.metrics import is_metrics_enabled

    from app.pipeline.diarize import get_diarizer

    get_diarizer(get_settings().diarization_model, get_settings())
    assert not is_metrics_enabled()
