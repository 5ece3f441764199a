"""The storage interface every backend implements: inputs, artifacts and deletions go through it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

from app.errors import DomainError


class ObjectNotFound(Exception):
    """The key does not exist in the store."""


class StorageUnavailable(DomainError):
    """The store could not be reached or refused the service's credentials; try again later."""

    status_code = 503
    code = "storage_unavailable"


@dataclass(frozen=True)
class PresignedUpload:
    """How a client sends an object straight to the store: the request and its headers."""

    url: str
    method: str = "PUT"
    headers: dict[str, str] = field(default_factory=dict)


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

    def size(self, key: str) -> int | None:
        """The size of the object at `key` in bytes, or None when there is none."""

    def presign_upload(
        self, key: str, *, expires: timedelta, content_type: str | None = None
    ) -> PresignedUpload | None:
        """A URL a client can PUT the object to; None when the API must receive it itself."""

    def presign_download(
        self, key: str, *, expires: timedelta, filename: str, content_type: str
    ) -> str | None:
        """A URL that serves the object for a while; None when the API must serve it itself."""


def job_prefix(job_id: object) -> str:
    """Every object of one job lives under this prefix."""
    return f"jobs/{job_id}/"


def input_key(job_id: object) -> str:
    """Where a job's input recording is stored."""
    return f"{job_prefix(job_id)}input"


def artifact_key(job_id: object, fmt: str) -> str:
    """Where a job's result in one format is stored."""
    return f"{job_prefix(job_id)}result.{fmt}"
