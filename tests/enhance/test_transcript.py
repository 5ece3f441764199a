"""Speaker turns are kept as spoken, and every character maps back to its segment."""

from __future__ import annotations

from app.enhance.transcript import parse_transcript
from tests.enhance.sample_transcript import sample_result


def test_turns_group_consecutive_segments_of_one_speaker() -> None:
    transcript = parse_transcript(sample_result(), job_id="j")
    assert [t.speaker for t in transcript.turns] == [
        "SPEAKER_00",
        "SPEAKER_01",
        "SPEAKER_00",
        "SPEAKER_01",
        "SPEAKER_00",
        "SPEAKER_01",
        "SPEAKER_00",
        "SPEAKER_01",
        "SPEAKER_00",
    ]
    turn = transcript.turns[6]  # "Oh, I'm originally from Chicago also. I'm in New Jersey..."
    assert [s.id for s in turn.segments] == [7, 8]
    at = turn.text.index("New Jersey")
    [segment] = turn.segments_between(at, at + len("New Jersey"))
    assert segment.id == 8 and segment.start == 20.173
    assert turn.start == 17.789 and turn.end == 21.475


def test_an_undiarized_transcript_is_one_turn_per_run() -> None:
    result = sample_result()
    for segment in result["segments"]:
        segment["speaker"] = None
    transcript = parse_transcript(result, job_id="j")
    assert len(transcript.turns) == 1 and transcript.turns[0].speaker is None
