"""Storage backends behind one interface, chosen by settings."""

from __future__ import annotations

from functools import lru_cache

from app.config import Settings, get_settings
from app.storage.base import (
    ObjectNotFound,
    PresignedUpload,
    Storage,
    StorageUnavailable,
    artifact_key,
    input_key,
    job_prefix,
)

__all__ = [
    "ObjectNotFound",
    "PresignedUpload",
    "Storage",
    "StorageUnavailable",
    "artifact_key",
    "get_storage",
    "input_key",
    "job_prefix",
    "storage_from_settings",
]


def storage_from_settings(settings: Settings) -> Storage:
    """The backend STORAGE_BACKEND names: a local folder, an S3 bucket or a GCS bucket."""
    if settings.storage_backend == "s3":
        from app.storage.s3 import S3Storage

        return S3Storage.from_settings(settings)
    if settings.storage_backend == "gcs":
        from app.storage.gcs import GCSStorage

        return GCSStorage.from_settings(settings)
    from app.storage.local import LocalStorage

    return LocalStorage(settings.local_storage_dir)


@lru_cache
def get_storage() -> Storage:
    """The configured storage backend (one per process)."""
    return storage_from_settings(get_settings())
