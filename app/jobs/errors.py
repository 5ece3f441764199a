"""Errors of a job's work in a worker; light enough for any process to import."""

from __future__ import annotations


class JobError(Exception):
    """A job cannot succeed for a reason the user can act on.

    `transient` errors (a provider that is down, say) are tried again on a later attempt;
    the others end the job at once.
    """

    def __init__(self, code: str, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient


class JobCanceled(Exception):
    """The job was canceled or deleted while it ran; stop and clean up."""
