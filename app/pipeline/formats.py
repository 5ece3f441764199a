"""Renderings of a transcript result: JSON, plain text, SRT, WebVTT and RTTM.

They work on the stored JSON result (plain dicts), so any process can re-render a transcript.
SRT is composed by the `srt` library and WebVTT by `webvtt-py`.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import srt
import webvtt

Result = dict[str, Any]


def _label(segment: dict[str, Any]) -> str | None:
    speaker = segment.get("speaker")
    return str(speaker) if speaker else None


def render_json(result: Result) -> str:
    return json.dumps(result, ensure_ascii=False, indent=2)


def render_txt(result: Result) -> str:
    """Paragraphs per speaker turn ("SPEAKER_00: ...") or one line per segment."""
    lines: list[str] = []
    current: str | None = None
    for segment in result["segments"]:
        speaker = _label(segment)
        if speaker is None:
            lines.append(segment["text"])
        elif speaker == current and lines:
            lines[-1] += " " + segment["text"]
        else:
            lines.append(f"{speaker}: {segment['text']}")
        current = speaker
    return "\n".join(lines) + ("\n" if lines else "")


def render_srt(result: Result) -> str:
    subtitles = [
        srt.Subtitle(
            index=i,
            start=timedelta(seconds=segment["start"]),
            end=timedelta(seconds=max(segment["end"], segment["start"] + 0.001)),
            content=f"[{speaker}] {segment['text']}"
            if (speaker := _label(segment))
            else segment["text"],
        )
        for i, segment in enumerate(result["segments"], start=1)
    ]
    return str(srt.compose(subtitles))


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(result: Result) -> str:
    """WebVTT with speakers as voice spans (<v SPEAKER_00>)."""
    captions = []
    for segment in result["segments"]:
        text = _vtt_escape(segment["text"])
        if speaker := _label(segment):
            text = f"<v {speaker}>{text}"
        end = max(segment["end"], segment["start"] + 0.001)
        captions.append(webvtt.Caption(_vtt_time(segment["start"]), _vtt_time(end), text))
    return str(webvtt.WebVTT(captions=captions).content)


def _rttm_name(name: str) -> str:
    return re.sub(r"\s+", "_", name) or "recording"


def render_rttm(result: Result) -> str | None:
    """NIST RTTM of the speaker turns; None when the job ran without diarization."""
    turns = result.get("diarization")
    if turns is None:
        return None
    name = _rttm_name(str(result.get("recording_id") or result.get("job_id") or "recording"))
    return "".join(
        f"SPEAKER {name} 1 {t['start']:.3f} {t['end'] - t['start']:.3f} <NA> <NA> "
        f"{t['speaker']} <NA> <NA>\n"
        for t in turns
    )


RENDERERS = {
    "json": render_json,
    "txt": render_txt,
    "srt": render_srt,
    "vtt": render_vtt,
    "rttm": render_rttm,
}


def render_all(result: Result) -> dict[str, str]:
    """Every format this result has."""
    rendered: dict[str, str] = {}
    for fmt, render in RENDERERS.items():
        text = render(result)
        if text is not None:
            rendered[fmt] = text
    return rendered
