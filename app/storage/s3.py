"""Amazon S3 and S3-compatible stores (MinIO, moto), through boto3.

Credentials come from boto3's usual chain (environment, shared files, instance or task role);
`S3_ENDPOINT_URL` points it at another S3-compatible server.
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

S3Client = Any  # boto3 builds its client classes at run time

log = logging.getLogger(__name__)

DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes
MISSING_CODES = ("404", "NoSuchKey", "NotFound")


def make_client(settings: Settings) -> S3Client:
    """A boto3 S3 client from settings (endpoint, region, addressing style)."""
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": settings.s3_addressing_style},
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region,
        config=config,
    )


@contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """Turn boto errors into ObjectNotFound (a missing key) or StorageUnavailable."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in MISSING_CODES:
            raise ObjectNotFound(what) from exc
        log.warning("S3 refused %s: %s", what, exc)
        raise StorageUnavailable(f"The object store refused the request ({code}).") from exc
    except BotoCoreError as exc:
        log.warning("S3 unreachable for %s: %s", what, exc)
        raise StorageUnavailable(f"The object store cannot be used right now: {exc}") from exc


class _CountingReader:
    """A file-like wrapper that counts the bytes read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data


class S3Storage:
    """Objects in one bucket, under an optional key prefix."""

    name = "s3"

    def __init__(self, client: S3Client, *, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        return cls(
            make_client(settings),
            bucket=settings.storage_bucket,
            prefix=settings.storage_key_prefix,
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put_file(self, key: str, source: Path, *, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        with s3_errors(key):  # multipart for big files (s3transfer)
            self.client.upload_file(str(source), self.bucket, self._key(key), ExtraArgs=extra)

    def put_stream(self, key: str, stream: BinaryIO, *, content_type: str | None = None) -> int:
        reader = _CountingReader(stream)
        extra = {"ContentType": content_type} if content_type else None
        with s3_errors(key):
            self.client.upload_fileobj(reader, self.bucket, self._key(key), ExtraArgs=extra)
        return reader.count

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
        with s3_errors(key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)

    def get_bytes(self, key: str) -> bytes:
        with s3_errors(key):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def download(self, key: str, target: Path) -> None:
        with s3_errors(key):
            self.client.download_file(self.bucket, self._key(key), str(target))

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        try:
            with s3_errors(key):
                head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ObjectNotFound:
            return None
        return int(head["ContentLength"])

    def delete_prefix(self, prefix: str) -> int:
        full = self._key(prefix)
        deleted = 0
        with s3_errors(prefix):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                for start in range(0, len(keys), DELETE_BATCH):
                    batch = keys[start : start + DELETE_BATCH]
                    answer = self.client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                    )
                    if answer.get("Errors"):
                        raise StorageUnavailable(
                            f"The object store kept {len(answer['Errors'])} objects under "
                            f"{prefix!r}: {answer['Errors'][0].get('Message', '')}"
                        )
                    deleted += len(batch)
        return deleted

    def check(self) -> None:
        with s3_errors(self.bucket):
            self.client.head_bucket(Bucket=self.bucket)

    def presign_upload(
        self, key: str, *, expires: timedelta, content_type: str | None = None
    ) -> PresignedUpload | None:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        headers: dict[str, str] = {}
        if content_type:  # signed, so the PUT must send the same Content-Type
            params["ContentType"] = content_type
            headers["Content-Type"] = content_type
        with s3_errors(key):
            url = self.client.generate_presigned_url(
                "put_object",
                Params=params,
                ExpiresIn=int(expires.total_seconds()),
                HttpMethod="PUT",
            )
        return PresignedUpload(url=url, method="PUT", headers=headers)

    def presign_download(
        self, key: str, *, expires: timedelta, filename: str, content_type: str
    ) -> str | None:
        with s3_errors(key):
            return self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._key(key),
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                    "ResponseContentType": content_type,
                },
                ExpiresIn=int(expires.total_seconds()),
            )
