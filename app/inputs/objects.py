"""Reading s3:// and gs:// inputs with the service's own credentials, within the size limit."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from app.inputs.sources import InputRefused, ObjectUrl, check_object_url
from app.pipeline.errors import PipelineError
from app.storage import ObjectNotFound, StorageUnavailable


def _s3_fetch(obj: ObjectUrl, target: Path, settings: Settings) -> int:
    from app.storage.s3 import make_client, s3_errors

    client = make_client(settings)
    with s3_errors(str(obj)):
        size = int(client.head_object(Bucket=obj.bucket, Key=obj.key)["ContentLength"])
        _check_size(size, settings)
        client.download_file(obj.bucket, obj.key, str(target))
    return size


def _gcs_fetch(obj: ObjectUrl, target: Path, settings: Settings) -> int:
    from app.storage.gcs import gcs_errors, make_client

    client = make_client(settings)
    with gcs_errors(str(obj)):
        blob = client.bucket(obj.bucket).get_blob(obj.key)
        if blob is None:
            raise ObjectNotFound(str(obj))
        size = int(blob.size or 0)
        _check_size(size, settings)
        blob.download_to_filename(str(target))
    return size


def _check_size(size: int, settings: Settings) -> None:
    if size > settings.max_upload_bytes:
        raise PipelineError(
            "input_too_large",
            f"The recording has {size} bytes; the limit is {settings.max_upload_bytes}.",
        )
    if size == 0:
        raise PipelineError("empty_audio", "The object is empty.")


def fetch_object(obj: ObjectUrl, target: Path, *, settings: Settings) -> int:
    """Download an object input into `target`; PipelineError with a reason when it cannot."""
    try:
        check_object_url(obj, settings=settings)  # again: settings may have changed since
        if obj.scheme == "s3":
            return _s3_fetch(obj, target, settings)
        return _gcs_fetch(obj, target, settings)
    except InputRefused as exc:
        raise PipelineError("url_not_allowed", exc.message) from None
    except ObjectNotFound:
        raise PipelineError("input_unavailable", f"There is no object at {obj}.") from None
    except StorageUnavailable as exc:
        raise PipelineError(
            "input_unavailable", f"{obj} could not be read: {exc.message}"
        ) from None
