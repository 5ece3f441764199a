"""A running transcription's segments, readable before the job ends (for streaming clients).

A job whose options hold `"stream": true` (set by the OpenAI-compatible endpoint when a client
asks for `stream=true`) has its ASR segments written to storage as they are decoded: a writer
thread rewrites one small JSON object at most every FLUSH_SECONDS, so decoding never waits on
storage and the last segments are written soon after they exist, even while diarization still
runs. The object is removed when the work ends; the job's result artifacts are the truth.
A retried attempt starts the list again from its first segment.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from types import TracebackType
from typing import Any

from app.storage import ObjectNotFound, Storage, StorageUnavailable, job_prefix

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5


def partial_key(job_id: object) -> str:
    """Where a running job's partial segments are stored."""
    return f"{job_prefix(job_id)}partial.json"


def wants_partial_segments(options: dict[str, Any]) -> bool:
    """Whether a job asked for its segments while it runs."""
    return bool(options.get("stream")) and not options.get("split_channels")


class PartialSegments:
    """Collects segments (any object with start, end and text) and writes them in the
    background; use as a context manager around the work."""

    def __init__(self, job_id: uuid.UUID, storage: Storage) -> None:
        self.job_id = job_id
        self.storage = storage
        self._segments: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"partial-{job_id}", daemon=True)

    def __enter__(self) -> PartialSegments:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._changed.set()
        self._thread.join(timeout=30)
        try:
            self.storage.delete_prefix(partial_key(self.job_id))
        except (StorageUnavailable, ObjectNotFound) as exc:  # retention removes it later
            log.warning("partial segments of job %s remain: %s", self.job_id, exc)

    def add(self, segment: Any) -> None:
        """Record one decoded segment (called from the decoding loop; never blocks on I/O)."""
        with self._lock:
            self._segments.append(
                {
                    "start": round(float(segment.start), 3),
                    "end": round(float(segment.end), 3),
                    "text": str(segment.text),
                }
            )
        self._changed.set()

    def _write(self) -> None:
        with self._lock:
            body = json.dumps({"segments": list(self._segments)}).encode()
        try:
            self.storage.put_bytes(partial_key(self.job_id), body, content_type="application/json")
        except Exception as exc:  # a store that blinks costs the stream a delay, not the job
            log.warning("could not write partial segments of job %s: %s", self.job_id, exc)

    def _run(self) -> None:
        while not self._done.is_set():
            self._changed.wait()
            if self._done.is_set():
                return
            self._changed.clear()
            self._write()
            time.sleep(FLUSH_SECONDS)


def read_partial_segments(job_id: object, storage: Storage) -> list[dict[str, Any]]:
    """The segments a running job has written so far (empty when there are none yet)."""
    try:
        data = json.loads(storage.get_bytes(partial_key(job_id)))
    except (ObjectNotFound, ValueError):
        return []
    segments = data.get("segments") if isinstance(data, dict) else None
    return segments if isinstance(segments, list) else []
