"""Storage backends behind one interface, chosen by settings."""

from __future__ import annotations

from functools import lru_cache

from app.config import get_settings
from app.storage.base import ObjectNotFound, Storage, artifact_key, input_key, job_prefix

__all__ = ["ObjectNotFound", "Storage", "artifact_key", "get_storage", "input_key", "job_prefix"]


@lru_cache
def get_storage() -> Storage:
    """The configured storage backend (one per process)."""
    settings = get_settings()
    from app.storage.local import LocalStorage

    return LocalStorage(settings.local_storage_dir)
