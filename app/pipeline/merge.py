"""Joining ASR and diarization: each word gets the speaker it overlaps most, and segments are
split wherever the speaker changes."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from app.pipeline.asr import AsrSegment, Word
from app.pipeline.diarize import Turn


@dataclass(frozen=True)
class SpeakerWord:
    start: float
    end: float
    text: str
    probability: float
    speaker: str | None


@dataclass(frozen=True)
class SpeakerSegment:
    start: float
    end: float
    text: str
    speaker: str | None
    words: tuple[SpeakerWord, ...]


class TurnIndex:
    """Answers "who speaks most during [start, end]?" in logarithmic time per query."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.turns = sorted(turns, key=lambda t: t.start)
        self.starts = [t.start for t in self.turns]
        # Running maximum of turn ends, and where it was reached: lets a scan stop early.
        self.max_end: list[float] = []
        self.max_end_at: list[int] = []
        best, best_at = float("-inf"), -1
        for i, turn in enumerate(self.turns):
            if turn.end > best:
                best, best_at = turn.end, i
            self.max_end.append(best)
            self.max_end_at.append(best_at)

    def speaker(self, start: float, end: float) -> str | None:
        """The speaker overlapping [start, end] most, else the nearest one; None if no turns."""
        if not self.turns:
            return None
        hi = bisect_left(self.starts, end)
        overlap: dict[str, float] = {}
        j = hi - 1
        while j >= 0 and self.max_end[j] > start:
            turn = self.turns[j]
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
            j -= 1
        if overlap:
            return max(overlap.items(), key=lambda item: item[1])[0]
        # No overlap: the closest turn before or after.
        candidates: list[tuple[float, str]] = []
        if hi > 0:
            before = self.turns[self.max_end_at[hi - 1]]
            candidates.append((start - before.end, before.speaker))
        if hi < len(self.turns):
            after = self.turns[hi]
            candidates.append((after.start - end, after.speaker))
        return min(candidates)[1] if candidates else None


def relabel_by_first_turn(turns: Sequence[Turn]) -> dict[str, str]:
    """Map engine labels to SPEAKER_00, SPEAKER_01, ... in order of first speech."""
    mapping: dict[str, str] = {}
    for turn in sorted(turns, key=lambda t: t.start):
        if turn.speaker not in mapping:
            mapping[turn.speaker] = f"SPEAKER_{len(mapping):02d}"
    return mapping


def _join(words: Sequence[Word | SpeakerWord]) -> str:
    return "".join(w.text for w in words).strip()


def attribute_speakers(
    segments: Sequence[AsrSegment], turns: Sequence[Turn] | None
) -> list[SpeakerSegment]:
    """Give every word a speaker and split each ASR segment at speaker changes.

    With `turns` None (no diarization) segments keep their text and have no speaker.
    """
    index = TurnIndex(turns) if turns is not None else None
    result: list[SpeakerSegment] = []
    for seg in segments:
        words = [
            SpeakerWord(
                w.start,
                w.end,
                w.text,
                w.probability,
                index.speaker(w.start, w.end) if index else None,
            )
            for w in seg.words
        ]
        if not words:
            speaker = index.speaker(seg.start, seg.end) if index else None
            result.append(SpeakerSegment(seg.start, seg.end, seg.text, speaker, ()))
            continue
        if index is None:
            result.append(SpeakerSegment(seg.start, seg.end, seg.text, None, tuple(words)))
            continue
        group: list[SpeakerWord] = [words[0]]
        for word in words[1:]:
            if word.speaker != group[-1].speaker:
                result.append(_segment(group))
                group = []
            group.append(word)
        result.append(_segment(group))
    return [s for s in result if s.text]


def _segment(words: list[SpeakerWord]) -> SpeakerSegment:
    return SpeakerSegment(
        words[0].start, words[-1].end, _join(words), words[0].speaker, tuple(words)
    )
