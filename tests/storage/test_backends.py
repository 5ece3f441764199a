"""The storage interface on every backend: a local folder, S3 through moto's server and GCS
through gcp-storage-emulator, each driven by the real client library over HTTP."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.storage import ObjectNotFound, Storage, StorageUnavailable, storage_from_settings
from tests.conftest import free_port

pytestmark = pytest.mark.integration


def s3_settings(endpoint: str, bucket: str, **extra: Any) -> Settings:
    return Settings(
        storage_backend="s3",
        storage_bucket=bucket,
        s3_endpoint_url=endpoint,
        s3_addressing_style="path",
        **extra,
    )


def gcs_settings(emulator: str, bucket: str, key_file: Path, **extra: Any) -> Settings:
    return Settings(
        storage_backend="gcs",
        storage_bucket=bucket,
        storage_emulator_host=emulator,
        gcs_credentials_file=key_file,
        **extra,
    )


def create_bucket(settings: Settings) -> None:
    """Make the bucket with the backend's own client, as an operator would."""
    if settings.storage_backend == "s3":
        from app.storage.s3 import make_client

        make_client(settings).create_bucket(Bucket=settings.storage_bucket)
    elif settings.storage_backend == "gcs":
        from app.storage.gcs import make_client as make_gcs_client

        make_gcs_client(settings).create_bucket(settings.storage_bucket)


def raw_keys(settings: Settings) -> list[str]:
    """Every key in the bucket, listed by the backend's own client (prefix included)."""
    if settings.storage_backend == "s3":
        from app.storage.s3 import make_client

        answer = make_client(settings).list_objects_v2(Bucket=settings.storage_bucket)
        return sorted(item["Key"] for item in answer.get("Contents", []))
    from app.storage.gcs import make_client as make_gcs_client

    client = make_gcs_client(settings)
    return sorted(b.name for b in client.list_blobs(settings.storage_bucket))


@pytest.fixture(params=["local", "s3", "gcs"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, gcs_key_file: Path
) -> Iterator[tuple[Storage, Settings]]:
    bucket = f"scribe-{uuid.uuid4().hex[:10]}"
    if request.param == "local":
        settings = Settings(storage_dir=tmp_path / "store")
    elif request.param == "s3":
        settings = s3_settings(
            request.getfixturevalue("moto_server"), bucket, storage_prefix="tenant-a"
        )
    else:
        settings = gcs_settings(
            request.getfixturevalue("gcs_emulator"),
            bucket,
            gcs_key_file,
            storage_prefix="/tenant-a/",
        )
    create_bucket(settings)
    yield storage_from_settings(settings), settings


def test_objects_round_trip(backend: tuple[Storage, Settings], tmp_path: Path) -> None:
    storage, settings = backend
    storage.check()
    storage.put_bytes("jobs/1/result.json", b'{"text": "hi"}', content_type="application/json")
    assert storage.get_bytes("jobs/1/result.json") == b'{"text": "hi"}'

    source = tmp_path / "in.wav"
    source.write_bytes(b"RIFF" + bytes(range(256)) * 100)
    storage.put_file("jobs/1/input", source, content_type="audio/wav")
    big = bytes(range(256)) * 40_000  # 10 MB: over the multipart / resumable thresholds
    assert storage.put_stream("jobs/2/input", io.BytesIO(big)) == len(big)
    assert storage.size("jobs/2/input") == len(big)
    assert storage.size("jobs/1/input") == source.stat().st_size
    assert storage.exists("jobs/1/input") and not storage.exists("jobs/3/input")
    assert storage.size("jobs/3/input") is None

    target = tmp_path / "out"
    storage.download("jobs/2/input", target)
    assert target.read_bytes() == big
    with pytest.raises(ObjectNotFound):
        storage.get_bytes("jobs/3/input")
    with pytest.raises(ObjectNotFound):
        storage.download("jobs/3/input", tmp_path / "none")

    if settings.storage_backend != "local":  # everything lives under the key prefix
        assert raw_keys(settings) == [
            "tenant-a/jobs/1/input",
            "tenant-a/jobs/1/result.json",
            "tenant-a/jobs/2/input",
        ]
    assert storage.delete_prefix("jobs/1/") == 2
    assert not storage.exists("jobs/1/input") and storage.exists("jobs/2/input")
    assert storage.delete_prefix("jobs/1/") == 0


def test_presigned_upload_and_download(backend: tuple[Storage, Settings]) -> None:
    storage, settings = backend
    expires = timedelta(minutes=5)
    upload = storage.presign_upload("jobs/9/input", expires=expires)
    download_url = None
    if settings.storage_backend == "local":
        assert upload is None  # the API receives local uploads itself
        assert (
            storage.presign_download("x", expires=expires, filename="a", content_type="b") is None
        )
        return
    assert upload is not None and upload.method == "PUT"
    assert upload.url.startswith("http://127.0.0.1:")
    assert "Signature=" in upload.url or "X-Goog-Signature=" in upload.url
    body = b"ID3" + bytes(5000)
    answer = httpx.put(upload.url, content=body, headers=upload.headers)
    assert answer.status_code == 200, answer.text
    assert storage.get_bytes("jobs/9/input") == body

    download_url = storage.presign_download(
        "jobs/9/input", expires=expires, filename="call.srt", content_type="application/x-subrip"
    )
    assert download_url is not None
    got = httpx.get(download_url)
    assert got.status_code == 200 and got.content == body
    assert 'filename="call.srt"' in got.headers.get("content-disposition", "")


def test_an_unreachable_store_is_a_clear_error(gcs_key_file: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    for settings in (
        s3_settings(dead, "nowhere"),
        gcs_settings(dead, "nowhere", gcs_key_file, storage_retry_seconds=1),
    ):
        storage = storage_from_settings(settings)
        with pytest.raises(StorageUnavailable) as failed:
            storage.put_bytes("jobs/1/result.json", b"{}")
        assert failed.value.status_code == 503


def test_cloud_backends_need_a_bucket() -> None:
    with pytest.raises(ValueError, match="STORAGE_BUCKET"):
        Settings(storage_backend="s3")
