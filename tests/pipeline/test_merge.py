"""Word-to-speaker attribution and segment splitting."""

from __future__ import annotations

from app.pipeline.asr import AsrSegment, Word
from app.pipeline.diarize import Turn
from app.pipeline.merge import TurnIndex, attribute_speakers, relabel_by_first_turn


def _seg(words: list[tuple[float, float, str]]) -> AsrSegment:
    ws = tuple(Word(s, e, t, 0.9) for s, e, t in words)
    return AsrSegment(ws[0].start, ws[-1].end, "".join(w.text for w in ws).strip(), ws, -0.2, 0.01)


def test_word_takes_the_speaker_it_overlaps_most() -> None:
    index = TurnIndex([Turn(0.0, 1.0, "A"), Turn(0.8, 3.0, "B")])
    assert index.speaker(0.1, 0.9) == "A"
    assert index.speaker(0.7, 1.5) == "B"  # 0.3 s with A, 0.7 s with B


def test_word_in_a_gap_takes_the_nearest_speaker() -> None:
    index = TurnIndex([Turn(0.0, 1.0, "A"), Turn(5.0, 6.0, "B")])
    assert index.speaker(1.2, 1.4) == "A"
    assert index.speaker(4.5, 4.8) == "B"
    assert TurnIndex([]).speaker(0, 1) is None


def test_long_turn_before_many_short_ones_is_still_found() -> None:
    turns = [Turn(0.0, 100.0, "A")] + [Turn(10.0 + i, 10.2 + i, "B") for i in range(50)]
    assert TurnIndex(turns).speaker(70.5, 70.9) == "A"


def test_segments_split_where_the_speaker_changes() -> None:
    segment = _seg(
        [(0.0, 0.4, " Hello"), (0.5, 0.9, " there."), (1.1, 1.5, " Hi"), (1.6, 2.0, " back.")]
    )
    turns = [Turn(0.0, 1.0, "S1"), Turn(1.0, 2.0, "S2")]
    out = attribute_speakers([segment], turns)
    assert [(s.speaker, s.text) for s in out] == [("S1", "Hello there."), ("S2", "Hi back.")]
    assert out[1].start == 1.1 and out[1].end == 2.0
    assert all(w.speaker == "S2" for w in out[1].words)


def test_without_diarization_segments_are_kept_whole() -> None:
    segment = _seg([(0.0, 0.4, " One"), (0.5, 0.9, " two.")])
    out = attribute_speakers([segment], None)
    assert len(out) == 1 and out[0].speaker is None and out[0].text == "One two."


def test_labels_follow_order_of_first_speech() -> None:
    mapping = relabel_by_first_turn([Turn(5, 6, "SPEAKER_03"), Turn(1, 2, "SPEAKER_07")])
    assert mapping == {"SPEAKER_07": "SPEAKER_00", "SPEAKER_03": "SPEAKER_01"}
