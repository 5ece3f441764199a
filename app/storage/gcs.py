"""Google Cloud Storage, through google-cloud-storage.

Credentials: a service-account key file (`GCS_CREDENTIALS_FILE`), else Application Default
Credentials. With `STORAGE_EMULATOR_HOST` the client talks to that emulator without
authentication. Signed URLs are signed locally with a service-account key, or, on credentials
without one (GKE workload identity, Compute Engine), by the IAM signBlob API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from app.config import Settings
from app.storage.base import ObjectNotFound, PresignedUpload, StorageUnavailable

log = logging.getLogger(__name__)

# Resumable uploads hold one chunk in memory; the library's default is 100 MiB.
UPLOAD_CHUNK = 8 * 1024 * 1024


def _service_account(settings: Settings) -> Any:
    if settings.gcs_credentials_file is None:
        return None
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_file(
        str(settings.gcs_credentials_file),
        scopes=["https://www.googleapis.com/auth/devstorage.read_write"],
    )


def make_client(settings: Settings) -> Any:
    """A google-cloud-storage client from settings (emulator, key file or ADC)."""
    from google.cloud import storage

    if settings.storage_emulator_host:
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(
            project=settings.gcs_project or "scribe-rabbit",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": settings.storage_emulator_host},
        )
    credentials = _service_account(settings)
    project = settings.gcs_project or getattr(credentials, "project_id", None)
    return storage.Client(project=project, credentials=credentials)


@contextmanager
def gcs_errors(what: str) -> Iterator[None]:
    """Turn client errors into ObjectNotFound (a missing object) or StorageUnavailable."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth
    from requests import RequestException

    try:
        yield
    except api.NotFound as exc:
        raise ObjectNotFound(what) from exc
    except (api.GoogleAPIError, auth.GoogleAuthError, RequestException) as exc:
        log.warning("GCS failed for %s: %s", what, exc)
        raise StorageUnavailable(
            f"The object store cannot be used right now ({type(exc).__name__})."
        ) from exc


class _CountingReader:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data

    def tell(self) -> int:
        return self.count


class GCSStorage:
    """Objects in one bucket, under an optional key prefix."""

    name = "gcs"

    def __init__(
        self,
        client: Any,
        *,
        bucket: str,
        prefix: str = "",
        signing_credentials: Any = None,
        endpoint: str | None = None,
        retry_seconds: float = 30,
    ) -> None:
        from google.cloud.storage.retry import DEFAULT_RETRY

        self.client = client
        self.bucket = client.bucket(bucket)
        self.prefix = prefix
        self.signing_credentials = signing_credentials
        self.endpoint = endpoint  # where signed URLs point (an emulator); None is Google's
        # Writes are keyed by job id and idempotent, so every call may retry, for so long.
        self.retry = DEFAULT_RETRY.with_timeout(retry_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> GCSStorage:
        return cls(
            make_client(settings),
            bucket=settings.storage_bucket,
            prefix=settings.storage_key_prefix,
            signing_credentials=_service_account(settings),
            endpoint=settings.storage_emulator_host or None,
            retry_seconds=settings.storage_retry_seconds,
        )

    def _blob(self, key: str) -> Any:
        blob = self.bucket.blob(self.prefix + key)
        blob.chunk_size = UPLOAD_CHUNK
        return blob

    def put_file(self, key: str, source: Path, *, content_type: str | None = None) -> None:
        with gcs_errors(key):
            self._blob(key).upload_from_filename(
                str(source), content_type=content_type, retry=self.retry
            )

    def put_stream(self, key: str, stream: BinaryIO, *, content_type: str | None = None) -> int:
        reader = _CountingReader(stream)
        with gcs_errors(key):
            self._blob(key).upload_from_file(reader, content_type=content_type, retry=self.retry)
        return reader.count

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        with gcs_errors(key):
            self._blob(key).upload_from_string(
                data, content_type=content_type or "application/octet-stream", retry=self.retry
            )

    def get_bytes(self, key: str) -> bytes:
        with gcs_errors(key):
            return bytes(self._blob(key).download_as_bytes(retry=self.retry))

    def download(self, key: str, target: Path) -> None:
        with gcs_errors(key):
            self._blob(key).download_to_filename(str(target), retry=self.retry)

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        with gcs_errors(key):
            blob = self.bucket.get_blob(self.prefix + key, retry=self.retry)
        return None if blob is None else int(blob.size)

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        with gcs_errors(prefix):
            blobs = self.client.list_blobs(
                self.bucket, prefix=self.prefix + prefix, retry=self.retry
            )
            for blob in blobs:
                try:
                    blob.delete(retry=self.retry)
                except Exception as exc:  # gone meanwhile: that is what we wanted
                    from google.api_core.exceptions import NotFound

                    if not isinstance(exc, NotFound):
                        raise
                deleted += 1
        return deleted

    def check(self) -> None:
        with gcs_errors(self.bucket.name):
            self.bucket.reload(retry=self.retry)

    def _signing(self) -> dict[str, Any]:
        if self.signing_credentials is not None:
            return {"credentials": self.signing_credentials}
        credentials = self.client._credentials  # google-cloud-core keeps no public accessor
        from google.auth.credentials import Signing

        if isinstance(credentials, Signing):
            return {}
        # Workload identity and the metadata server sign through IAM's signBlob. Refresh first:
        # until then compute-engine credentials name their account only as "default".
        from google.auth.transport.requests import Request

        if not credentials.valid:
            try:
                credentials.refresh(Request())
            except Exception as exc:  # the metadata server or token endpoint is unreachable
                raise StorageUnavailable(f"Could not get credentials to sign a URL: {exc}") from exc
        email = getattr(credentials, "service_account_email", None)
        if not email or email == "default":
            raise StorageUnavailable(
                "Signed URLs need a service account: set GCS_CREDENTIALS_FILE, or run with "
                "service-account credentials that may call IAM signBlob."
            )
        return {"service_account_email": email, "access_token": credentials.token}

    def _signed_url(self, key: str, **kwargs: Any) -> str:
        if self.endpoint:
            kwargs["api_access_endpoint"] = self.endpoint
        with gcs_errors(key):
            return str(self._blob(key).generate_signed_url(version="v4", **kwargs))

    def presign_upload(
        self, key: str, *, expires: timedelta, content_type: str | None = None
    ) -> PresignedUpload | None:
        headers = {"Content-Type": content_type} if content_type else {}
        url = self._signed_url(
            key, expiration=expires, method="PUT", content_type=content_type, **self._signing()
        )
        return PresignedUpload(url=url, method="PUT", headers=headers)

    def presign_download(
        self, key: str, *, expires: timedelta, filename: str, content_type: str
    ) -> str | None:
        return self._signed_url(
            key,
            expiration=expires,
            method="GET",
            response_disposition=f'attachment; filename="{filename}"',
            response_type=content_type,
            **self._signing(),
        )
