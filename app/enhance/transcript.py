"""The transcript as the enhancement step reads it: segments grouped into speaker turns.

Turns are kept as they were spoken (consecutive segments of one speaker), never flattened into
one text, so every key point and entity can point back to its time and speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    speaker: str | None
    text: str


@dataclass
class Turn:
    """Consecutive segments of one speaker; `offsets` are each segment's start in `text`."""

    speaker: str | None
    segments: list[Segment] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    text: str = ""

    @property
    def start(self) -> float:
        return self.segments[0].start

    @property
    def end(self) -> float:
        return self.segments[-1].end

    def add(self, segment: Segment) -> None:
        if self.text:
            self.text += " "
        self.offsets.append(len(self.text))
        self.text += segment.text

    def segments_between(self, char_start: int, char_end: int) -> list[Segment]:
        """The segments that hold characters [char_start, char_end) of the turn's text."""
        found: list[Segment] = []
        for i, segment in enumerate(self.segments):
            seg_start = self.offsets[i]
            seg_end = seg_start + len(segment.text)
            if seg_start < char_end and char_start < seg_end:
                found.append(segment)
        return found or [self.segments[0]]


@dataclass(frozen=True)
class Transcript:
    job_id: str
    language: str | None
    segments: list[Segment]
    turns: list[Turn]


def speaker_turns(segments: list[Segment]) -> list[Turn]:
    """Group consecutive segments of the same speaker."""
    turns: list[Turn] = []
    for segment in segments:
        if not turns or turns[-1].speaker != segment.speaker:
            turns.append(Turn(speaker=segment.speaker))
        turns[-1].segments.append(segment)
        turns[-1].add(segment)
    return turns


def parse_transcript(result: dict[str, Any], *, job_id: str) -> Transcript:
    """Read the stored JSON result of a transcription job."""
    segments = [
        Segment(
            id=int(s.get("id", i)),
            start=float(s["start"]),
            end=float(s["end"]),
            speaker=s.get("speaker"),
            text=re.sub(r"\s+", " ", str(s.get("text", ""))).strip(),
        )
        for i, s in enumerate(result.get("segments") or [])
    ]
    segments = [s for s in segments if s.text]
    return Transcript(
        job_id=job_id,
        language=result.get("language"),
        segments=segments,
        turns=speaker_turns(segments),
    )
