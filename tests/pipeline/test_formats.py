"""Renderings parse with independent libraries and carry the speakers."""

from __future__ import annotations

import io
from typing import Any

import pysrt
import webvtt

from app.pipeline.formats import render_all, render_rttm, render_srt, render_txt, render_vtt

RESULT: dict[str, Any] = {
    "job_id": "job-1",
    "recording_id": "call 42",
    "segments": [
        {
            "id": 0,
            "start": 0.5,
            "end": 2.25,
            "text": "Hello <there> & welcome.",
            "speaker": "SPEAKER_00",
        },
        {"id": 1, "start": 2.25, "end": 3.0, "text": "Thanks.", "speaker": "SPEAKER_01"},
        {"id": 2, "start": 3.1, "end": 4.0, "text": "Shall we start?", "speaker": "SPEAKER_01"},
    ],
    "diarization": [
        {"start": 0.4, "end": 2.3, "speaker": "SPEAKER_00"},
        {"start": 2.2, "end": 4.1, "speaker": "SPEAKER_01"},
    ],
}


def test_srt_parses_with_pysrt() -> None:
    subs = pysrt.from_string(render_srt(RESULT))
    assert len(subs) == 3
    assert subs[0].start.ordinal == 500 and subs[0].end.ordinal == 2250
    assert subs[1].text == "[SPEAKER_01] Thanks."


def test_vtt_parses_and_keeps_voices() -> None:
    vtt = webvtt.from_buffer(io.StringIO(render_vtt(RESULT)))
    captions = list(vtt)
    assert len(captions) == 3
    assert captions[0].start == "00:00:00.500" and captions[0].end == "00:00:02.250"
    assert captions[0].voice == "SPEAKER_00"
    assert "&lt;there&gt; &amp; welcome" in captions[0].raw_text


def test_txt_groups_consecutive_segments_of_a_speaker() -> None:
    assert render_txt(RESULT) == (
        "SPEAKER_00: Hello <there> & welcome.\nSPEAKER_01: Thanks. Shall we start?\n"
    )


def test_rttm_has_one_line_per_turn() -> None:
    lines = (render_rttm(RESULT) or "").splitlines()
    assert lines[1].split() == [
        "SPEAKER",
        "call_42",
        "1",
        "2.200",
        "1.900",
        "<NA>",
        "<NA>",
        "SPEAKER_01",
        "<NA>",
        "<NA>",
    ]


def test_no_rttm_without_diarization() -> None:
    plain = {**RESULT, "diarization": None}
    assert "rttm" not in render_all(plain)
    assert set(render_all(RESULT)) == {"json", "txt", "srt", "vtt", "rttm"}
