"""The provider interface of the enhancement step, and what every provider returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from app.enhance.transcript import Segment, Transcript
from app.jobs.errors import JobError


class EnhancementError(JobError):
    """The enhancement cannot be made; `transient` errors are tried again on a later attempt."""


@dataclass(frozen=True)
class KeyPoint:
    """A point of the transcript with the time and speaker it comes from."""

    text: str
    start: float | None
    end: float | None
    speaker: str | None
    segment_ids: list[int]


@dataclass(frozen=True)
class Occurrence:
    segment_id: int
    start: float
    end: float
    speaker: str | None
    text: str


@dataclass
class Entity:
    text: str
    type: str
    occurrences: list[Occurrence] = field(default_factory=list)


@dataclass
class Enhancement:
    summary: str | None
    key_points: list[KeyPoint]
    entities: list[Entity]
    model: dict[str, Any]


@dataclass(frozen=True)
class EnhancementRequest:
    summarize: bool
    extract_entities: bool
    model: str | None = None


class EnhancementProvider(Protocol):
    """Summarises a transcript and extracts its entities."""

    name: str

    def enhance(self, transcript: Transcript, request: EnhancementRequest) -> Enhancement:
        """Enhance one transcript; raises EnhancementError with a reason."""
        ...


def key_point_from(text: str, segments: list[Segment]) -> KeyPoint:
    """A key point located by the segments it was taken from."""
    speakers = [s.speaker for s in segments if s.speaker]
    speaker = max(set(speakers), key=speakers.count) if speakers else None
    return KeyPoint(
        text=text,
        start=min(s.start for s in segments) if segments else None,
        end=max(s.end for s in segments) if segments else None,
        speaker=speaker,
        segment_ids=[s.id for s in segments],
    )
