"""The whole of step one: a media file in, a speaker-attributed transcript out.

Used by the worker (with heartbeat-backed progress and cancellation) and by the local CLI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.config import Settings
from app.pipeline import audio as media
from app.pipeline.asr import AsrRequest, AsrSegment, get_asr_engine
from app.pipeline.diarize import Diarization, SpeakerHints, Turn, get_diarizer
from app.pipeline.errors import PipelineError
from app.pipeline.merge import SpeakerSegment, attribute_speakers, relabel_by_first_turn

ProgressFn = Callable[[str, int], None]
StopFn = Callable[[], None]

Result = dict[str, Any]


def _r(value: float) -> float:
    return round(float(value), 3)


def _relabel(diarization: Diarization) -> Diarization:
    names = relabel_by_first_turn(diarization.turns)

    def rename(turns: list[Turn]) -> list[Turn]:
        return [Turn(t.start, t.end, names.get(t.speaker, t.speaker)) for t in turns]

    return Diarization(rename(diarization.turns), rename(diarization.exclusive_turns))


def _speakers(segments: list[SpeakerSegment], turns: list[Turn]) -> list[dict[str, Any]]:
    speaking: dict[str, float] = {}
    for turn in turns:
        speaking[turn.speaker] = speaking.get(turn.speaker, 0.0) + (turn.end - turn.start)
    words: dict[str, int] = {}
    for segment in segments:
        for word in segment.words:
            if word.speaker:
                words[word.speaker] = words.get(word.speaker, 0) + 1
    return [
        {"id": name, "speaking_time": _r(speaking[name]), "word_count": words.get(name, 0)}
        for name in sorted(speaking)
    ]


def transcribe_file(
    path: Path,
    options: dict[str, Any],
    *,
    settings: Settings,
    progress: ProgressFn,
    should_stop: StopFn,
    job_id: str | None = None,
    recording_id: str | None = None,
    on_segment: Callable[[AsrSegment], None] | None = None,
) -> Result:
    """Probe, decode, transcribe and (if asked) diarize one file; returns the JSON result.

    `on_segment` gets each ASR segment as it is decoded (before speakers are known); per-channel
    transcription does not call it, its segments come channel after channel.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()

    progress("probing", 1)
    info = media.probe(path)
    media.check_media(info, max_duration=settings.max_duration_seconds)
    if options.get("split_channels"):
        return _transcribe_channels(
            path,
            info,
            options,
            settings=settings,
            progress=progress,
            should_stop=should_stop,
            job_id=job_id,
            recording_id=recording_id,
            timings=timings,
            started=started,
        )
    progress("decoding", 3)
    tick = time.perf_counter()
    audio = media.decode(
        path,
        max_duration=settings.max_duration_seconds,
        timeout=settings.decode_timeout_seconds,
    )
    timings["decode"] = time.perf_counter() - tick
    duration = audio.size / media.SAMPLE_RATE
    should_stop()

    diarize = bool(options.get("diarize"))
    asr_start, asr_end = 10, (60 if diarize else 95)
    tick = time.perf_counter()
    progress("loading_model", 5)
    engine = get_asr_engine(options.get("model") or settings.asr_model, settings)
    timings["asr_load"] = time.perf_counter() - tick
    request = AsrRequest(
        language=options.get("language"),
        task=options.get("task") or "transcribe",
        word_timestamps=bool(options.get("word_timestamps", True)) or diarize,
        vad_filter=bool(options.get("vad_filter", True)),
        initial_prompt=options.get("initial_prompt"),
        hotwords=options.get("hotwords"),
        beam_size=settings.asr_beam_size,
        temperature=options.get("temperature"),
    )
    tick = time.perf_counter()
    asr = engine.transcribe(
        audio,
        request,
        on_progress=lambda f: progress(
            "transcribing", round(asr_start + f * (asr_end - asr_start))
        ),
        should_stop=should_stop,
        on_segment=on_segment,
    )
    timings["asr"] = time.perf_counter() - tick

    diarization: Diarization | None = None
    diarizer_info: dict[str, Any] | None = None
    if diarize:
        tick = time.perf_counter()
        progress("loading_diarization", asr_end)
        diarizer = get_diarizer(settings.diarization_model, settings)
        timings["diarization_load"] = time.perf_counter() - tick
        tick = time.perf_counter()
        diarization = _relabel(
            diarizer.diarize(
                audio,
                SpeakerHints(
                    num_speakers=options.get("num_speakers"),
                    min_speakers=options.get("min_speakers"),
                    max_speakers=options.get("max_speakers"),
                ),
                on_progress=lambda f: progress("diarizing", round(asr_end + f * (95 - asr_end))),
                should_stop=should_stop,
            )
        )
        timings["diarization"] = time.perf_counter() - tick
        diarizer_info = diarizer.info
    should_stop()

    segments = attribute_speakers(
        asr.segments, diarization.exclusive_turns if diarization else None
    )
    return _result(
        segments,
        diarization.turns if diarization else None,
        options,
        info=info,
        language=asr.language,
        language_probability=asr.language_probability,
        duration=duration,
        models={"asr": engine.info, "diarization": diarizer_info},
        job_id=job_id,
        recording_id=recording_id,
        timings=timings,
        started=started,
    )


def _result(
    segments: list[SpeakerSegment],
    turns: list[Turn] | None,
    options: dict[str, Any],
    *,
    info: media.MediaInfo,
    language: str,
    language_probability: float,
    duration: float,
    models: dict[str, Any],
    job_id: str | None,
    recording_id: str | None,
    timings: dict[str, float],
    started: float,
) -> Result:
    """The JSON result every format is rendered from."""
    timings["total"] = time.perf_counter() - started
    include_words = bool(options.get("word_timestamps", True))
    result: Result = {
        "job_id": job_id,
        "recording_id": recording_id,
        "language": language,
        "language_probability": _r(language_probability),
        "duration": _r(duration),
        "text": " ".join(s.text for s in segments),
        "segments": [
            {"id": i, "start": _r(s.start), "end": _r(s.end), "text": s.text, "speaker": s.speaker}
            for i, s in enumerate(segments)
        ],
        "words": [
            {
                "start": _r(w.start),
                "end": _r(w.end),
                "word": w.text.strip(),
                "probability": _r(w.probability),
                "speaker": w.speaker,
            }
            for s in segments
            for w in s.words
        ]
        if include_words
        else [],
        "speakers": _speakers(segments, turns) if turns is not None else [],
        "diarization": [
            {"start": _r(t.start), "end": _r(t.end), "speaker": t.speaker} for t in turns
        ]
        if turns is not None
        else None,
        "models": models,
        "options": options,
        "media": {
            "format": info.format_name,
            "codec": info.codec,
            "channels": info.channels,
            "sample_rate": info.sample_rate,
            "video": info.video_streams > 0,
        },
        "timings": {k: _r(v) for k, v in timings.items()},
        "real_time_factor": _r(timings["total"] / duration) if duration else None,
    }
    return result


def _scaled(progress: ProgressFn, stage: str, low: float, span: float) -> Callable[[float], None]:
    return lambda fraction: progress(stage, round(low + fraction * span))


def channel_label(channel: int) -> str:
    """The speaker name of one channel in per-channel transcription."""
    return f"CHANNEL_{channel:02d}"


def _transcribe_channels(
    path: Path,
    info: media.MediaInfo,
    options: dict[str, Any],
    *,
    settings: Settings,
    progress: ProgressFn,
    should_stop: StopFn,
    job_id: str | None,
    recording_id: str | None,
    timings: dict[str, float],
    started: float,
) -> Result:
    """Transcribe each channel on its own; each channel is one speaker (call-centre stereo).

    Channels are decoded one at a time, so memory holds one channel, not all of them.
    """
    if info.channels > settings.max_channels:
        raise PipelineError(
            "too_many_channels",
            f"The recording has {info.channels} channels; per-channel transcription takes at "
            f"most {settings.max_channels}.",
        )
    tick = time.perf_counter()
    progress("loading_model", 5)
    engine = get_asr_engine(options.get("model") or settings.asr_model, settings)
    timings["asr_load"] = time.perf_counter() - tick
    request = AsrRequest(
        language=options.get("language"),
        task=options.get("task") or "transcribe",
        word_timestamps=True,  # words carry the channel's speaker
        vad_filter=bool(options.get("vad_filter", True)),
        initial_prompt=options.get("initial_prompt"),
        hotwords=options.get("hotwords"),
        beam_size=settings.asr_beam_size,
        temperature=options.get("temperature"),
    )
    segments: list[SpeakerSegment] = []
    turns: list[Turn] = []
    languages: list[tuple[float, str]] = []
    duration = 0.0
    timings["decode"] = timings["asr"] = 0.0
    span = 85 / info.channels
    for channel in range(info.channels):
        low = 10 + channel * span
        label = channel_label(channel)
        progress("decoding", round(low))
        tick = time.perf_counter()
        audio = media.decode(
            path,
            max_duration=settings.max_duration_seconds,
            timeout=settings.decode_timeout_seconds,
            channel=channel,
        )
        timings["decode"] += time.perf_counter() - tick
        duration = max(duration, audio.size / media.SAMPLE_RATE)
        should_stop()
        tick = time.perf_counter()
        asr = engine.transcribe(
            audio,
            request,
            on_progress=_scaled(progress, "transcribing", low, span),
            should_stop=should_stop,
        )
        timings["asr"] += time.perf_counter() - tick
        del audio
        if asr.segments:
            languages.append((asr.language_probability, asr.language))
        channel_turns = [Turn(seg.start, seg.end, label) for seg in asr.segments]
        turns.extend(channel_turns)
        segments.extend(attribute_speakers(asr.segments, channel_turns))
    should_stop()
    segments.sort(key=lambda seg: (seg.start, seg.speaker or ""))
    turns.sort(key=lambda turn: (turn.start, turn.speaker))
    probability, language = max(languages) if languages else (0.0, options.get("language") or "")
    result = _result(
        segments,
        turns,
        options,
        info=info,
        language=language,
        language_probability=probability,
        duration=duration,
        models={"asr": engine.info, "diarization": None},
        job_id=job_id,
        recording_id=recording_id,
        timings=timings,
        started=started,
    )
    for speaker in result["speakers"]:
        speaker["channel"] = int(speaker["id"].rsplit("_", 1)[1])
    return result
