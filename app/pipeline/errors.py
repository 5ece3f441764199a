"""Errors the pipeline raises; light enough for any process to import."""

from __future__ import annotations


class PipelineError(Exception):
    """A job cannot succeed for a reason the user can act on; retrying will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JobCanceled(Exception):
    """The job was canceled or deleted while it ran; stop and clean up."""
