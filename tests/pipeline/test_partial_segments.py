"""Segments as the decoding loop yields them, and the writer that makes them readable early."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.config import get_settings
from app.jobs.partial import PartialSegments, partial_key, read_partial_segments
from app.storage.local import LocalStorage
from tests.conftest import SHARED_DATA


@pytest.mark.slow
def test_the_pipeline_hands_over_each_segment_as_it_is_decoded() -> None:
    from app.pipeline.transcribe import transcribe_file

    seen: list[tuple[Any, int]] = []
    stages: list[str] = []

    def progress(stage: str, _percent: int) -> None:
        stages.append(stage)

    result = transcribe_file(
        SHARED_DATA / "jfk.flac",
        {"word_timestamps": False},
        settings=get_settings(),
        progress=progress,
        should_stop=lambda: None,
        on_segment=lambda segment: seen.append((segment, len(stages))),
    )
    assert [s.text for s, _ in seen] == [s["text"] for s in result["segments"]]
    assert [round(s.start, 3) for s, _ in seen] == [s["start"] for s in result["segments"]]
    # Handed over while transcribing (its progress reports come after), not at the end.
    assert all("transcribing" in stages[at:] for _, at in seen)


def _wait_for(storage: LocalStorage, job_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    segments: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        segments = read_partial_segments(job_id, storage)
        if len(segments) >= count:
            return segments
        time.sleep(0.05)
    raise AssertionError(f"only {segments} written")


class Piece:
    def __init__(self, start: float, end: float, text: str) -> None:
        self.start, self.end, self.text = start, end, text


def test_partial_segments_are_written_soon_and_removed_after(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    job_id = uuid.uuid4()
    assert read_partial_segments(job_id, storage) == []
    with PartialSegments(job_id, storage) as partial:
        partial.add(Piece(0.0, 1.25, "first"))
        assert _wait_for(storage, job_id, 1) == [{"start": 0.0, "end": 1.25, "text": "first"}]
        partial.add(Piece(1.25, 2.5, "second"))
        partial.add(Piece(2.5, 3.0, "third"))  # the last ones too, with no later segment
        assert [s["text"] for s in _wait_for(storage, job_id, 3)] == ["first", "second", "third"]
    assert not storage.exists(partial_key(job_id))
