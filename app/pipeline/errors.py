"""Errors the pipeline raises; light enough for any process to import."""

from __future__ import annotations

from app.jobs.errors import JobCanceled, JobError

__all__ = ["JobCanceled", "PipelineError"]


class PipelineError(JobError):
    """The recording cannot be transcribed (bad media, limits, models); retrying will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
