"""Speaker names: checked against the transcript's labels and applied to every rendering."""

from __future__ import annotations

import io
import json
from typing import Any

import pysrt
import pytest
import webvtt

from app.errors import Invalid
from app.jobs.speakers import (
    MAX_NAME_CHARS,
    apply_speaker_names,
    merge_names,
    render_named,
    speaker_labels,
)

RESULT: dict[str, Any] = {
    "job_id": "job-1",
    "recording_id": "call 42",
    "text": "Hello there. Thanks.",
    "segments": [
        {"id": 0, "start": 0.5, "end": 2.0, "text": "Hello there.", "speaker": "SPEAKER_00"},
        {"id": 1, "start": 2.25, "end": 3.0, "text": "Thanks.", "speaker": "SPEAKER_01"},
    ],
    "words": [
        {"start": 0.5, "end": 1.0, "word": "Hello", "speaker": "SPEAKER_00"},
        {"start": 1.1, "end": 2.0, "word": "there.", "speaker": "SPEAKER_00"},
        {"start": 2.25, "end": 3.0, "word": "Thanks.", "speaker": "SPEAKER_01"},
    ],
    "speakers": [
        {"id": "SPEAKER_00", "speaking_time": 1.5, "word_count": 2},
        {"id": "SPEAKER_01", "speaking_time": 0.75, "word_count": 1},
    ],
    "diarization": [
        {"start": 0.4, "end": 2.1, "speaker": "SPEAKER_00"},
        {"start": 2.2, "end": 3.1, "speaker": "SPEAKER_01"},
    ],
}
NAMES = {"SPEAKER_00": "Ada Lovelace", "SPEAKER_01": "Bob <B&B>"}


def test_labels_are_found_wherever_the_result_has_them() -> None:
    assert speaker_labels(RESULT) == {"SPEAKER_00", "SPEAKER_01"}
    nested = {"utterances": [{"speaker": "SPEAKER_02", "words": [{"speaker": "SPEAKER_03"}]}]}
    assert speaker_labels(nested) == {"SPEAKER_02", "SPEAKER_03"}
    assert speaker_labels({"segments": [{"speaker": None, "text": "x"}]}) == set()


def test_names_are_checked_and_merged() -> None:
    labels = {"SPEAKER_00", "SPEAKER_01"}
    merged = merge_names({}, {"SPEAKER_00": "  Ada \n Lovelace "}, labels=labels)
    assert merged == {"SPEAKER_00": "Ada Lovelace"}  # trimmed, on one line
    merged = merge_names(merged, {"SPEAKER_01": "Bob"}, labels=labels)
    assert merged == {"SPEAKER_00": "Ada Lovelace", "SPEAKER_01": "Bob"}
    assert merge_names(merged, {"SPEAKER_00": None, "SPEAKER_01": ""}, labels=labels) == {}

    with pytest.raises(Invalid, match="unknown speaker SPEAKER_07"):
        merge_names({}, {"SPEAKER_07": "Eve"}, labels=labels)
    with pytest.raises(Invalid, match="longer than"):
        merge_names({}, {"SPEAKER_00": "x" * (MAX_NAME_CHARS + 1)}, labels=labels)
    with pytest.raises(Invalid, match="control"):
        merge_names({}, {"SPEAKER_00": "Ada\u200bLovelace"}, labels=labels)
    with pytest.raises(Invalid, match="none"):
        merge_names({}, {"SPEAKER_00": "Ada"}, labels=set())


def test_names_replace_labels_and_keep_them_as_ids() -> None:
    named = apply_speaker_names(RESULT, {"SPEAKER_00": "Ada"})
    assert named["segments"][0]["speaker"] == "Ada"
    assert named["segments"][0]["speaker_id"] == "SPEAKER_00"
    assert named["segments"][1]["speaker"] == "SPEAKER_01"  # not named: stays the label
    assert named["segments"][1]["speaker_id"] == "SPEAKER_01"
    assert [w["speaker"] for w in named["words"]] == ["Ada", "Ada", "SPEAKER_01"]
    assert named["diarization"][0]["speaker"] == "Ada"
    assert named["speakers"][0] == {
        "id": "SPEAKER_00",
        "name": "Ada",
        "speaking_time": 1.5,
        "word_count": 2,
    }
    assert named["speaker_names"] == {"SPEAKER_00": "Ada"}
    assert RESULT["segments"][0]["speaker"] == "SPEAKER_00"  # the stored result is untouched
    assert apply_speaker_names(RESULT, {}) is RESULT


def test_an_enhancement_result_gets_the_names_too() -> None:
    enhancement = {
        "summary": "SPEAKER_00: Hello there. SPEAKER_01: Thanks. SPEAKER_010 stays.",
        "key_points": [{"text": "Hello there.", "speaker": "SPEAKER_00", "segment_ids": [0]}],
        "entities": [{"text": "Bob", "occurrences": [{"speaker": "SPEAKER_01", "start": 2.25}]}],
        "speaker_turns": [{"speaker": "SPEAKER_00"}, {"speaker": "SPEAKER_01"}],
    }
    named = apply_speaker_names(enhancement, NAMES)
    assert named["summary"] == "Ada Lovelace: Hello there. Bob <B&B>: Thanks. SPEAKER_010 stays."
    assert named["key_points"][0]["speaker"] == "Ada Lovelace"
    assert named["entities"][0]["occurrences"][0]["speaker"] == "Bob <B&B>"
    assert [t["speaker"] for t in named["speaker_turns"]] == ["Ada Lovelace", "Bob <B&B>"]


def test_every_format_renders_the_names() -> None:
    def render(fmt: str) -> str:
        data = render_named(RESULT, fmt, NAMES)
        assert data is not None
        return data.decode()

    as_json = json.loads(render("json"))
    assert [s["speaker"] for s in as_json["segments"]] == ["Ada Lovelace", "Bob <B&B>"]
    assert render("txt") == "Ada Lovelace: Hello there.\nBob <B&B>: Thanks.\n"
    subs = pysrt.from_string(render("srt"))
    assert [s.text for s in subs] == ["[Ada Lovelace] Hello there.", "[Bob <B&B>] Thanks."]
    captions = list(webvtt.from_buffer(io.StringIO(render("vtt"))))
    assert [c.voice for c in captions] == ["Ada Lovelace", "Bob &lt;B&amp;B&gt;"]
    rttm = [line.split() for line in render("rttm").splitlines()]
    assert [fields[7] for fields in rttm] == ["Ada_Lovelace", "Bob_<B&B>"]
    assert all(len(fields) == 10 for fields in rttm)  # a name never adds a field


def test_a_result_without_diarization_has_no_rttm() -> None:
    plain = {**RESULT, "diarization": None}
    assert render_named(plain, "rttm", NAMES) is None
