"""The storage interface every backend implements: inputs, artifacts and deletions go through it."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol


class ObjectNotFound(Exception):
    """The key does not exist in the store."""


class Storage(Protocol):
    """A flat key space of objects (a folder, an S3 bucket, a GCS bucket)."""

    name: str

    def put_file(self, key: str, source: Path, *, content_type: str | None = None) -> None:
        """Store a local file under `key`, replacing any object already there."""

    def put_stream(self, key: str, stream: BinaryIO, *, content_type: str | None = None) -> int:
        """Store a readable stream under `key`; returns the number of bytes written."""

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Store bytes under `key`, replacing any object already there."""

    def get_bytes(self, key: str) -> bytes:
        """Read a whole object; raises ObjectNotFound."""

    def download(self, key: str, target: Path) -> None:
        """Copy an object to a local file; raises ObjectNotFound."""

    def exists(self, key: str) -> bool:
        """True when `key` holds an object."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix`; returns how many."""

    def check(self) -> None:
        """Raise if the store cannot be reached (for readiness probes)."""


def job_prefix(job_id: object) -> str:
    """Every object of one job lives under this prefix."""
    return f"jobs/{job_id}/"


def input_key(job_id: object) -> str:
    """Where a job's input recording is stored."""
    return f"{job_prefix(job_id)}input"


def artifact_key(job_id: object, fmt: str) -> str:
    """Where a job's result in one format is stored."""
    return f"{job_prefix(job_id)}result.{fmt}"
