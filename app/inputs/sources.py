"""Which URLs a job may name as its input: http(s) URLs the network guard lets through, and
s3:// or gs:// objects in the buckets a deployment lists in INPUT_BUCKETS.

Object URLs are read with the service's own credentials, so a tenant must never be able to name
the service's storage bucket (other tenants' recordings) or any bucket not listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.config import Settings
from app.errors import DomainError
from app.netguard import BlockedDestination, Resolver, check_destination

OBJECT_SCHEMES = ("s3", "gs")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")


class InputRefused(DomainError):
    """A URL input the service will not read."""

    status_code = 422
    code = "url_not_allowed"


@dataclass(frozen=True)
class ObjectUrl:
    """An s3://bucket/key or gs://bucket/key input."""

    scheme: str
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}"


def parse_object_url(url: str) -> ObjectUrl | None:
    """The bucket and key of an s3:// or gs:// URL; None for other schemes."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in OBJECT_SCHEMES:
        return None
    bucket, _, key = rest.partition("/")  # keys may hold '?' and '#': no URL parsing here
    if not _BUCKET.match(bucket) or not key:
        raise InputRefused(f"{url!r} is not a valid {scheme}://bucket/key URL.")
    return ObjectUrl(scheme=scheme.lower(), bucket=bucket, key=key)


def check_object_url(obj: ObjectUrl, *, settings: Settings) -> None:
    """Refuse a bucket the deployment has not opened to URL inputs."""
    if settings.storage_bucket and obj.bucket == settings.storage_bucket:
        raise InputRefused("The service's own storage bucket cannot be read as an input.")
    if obj.bucket not in settings.input_buckets:
        allowed = ", ".join(settings.input_buckets) or "none are configured"
        raise InputRefused(
            f"The bucket {obj.bucket!r} is not open to URL inputs here (INPUT_BUCKETS: {allowed})."
        )


def check_url_input(url: str, *, settings: Settings, resolver: Resolver | None = None) -> None:
    """Refuse (InputRefused, a 422) a URL input the worker would not be allowed to read."""
    obj = parse_object_url(url)
    if obj is not None:
        check_object_url(obj, settings=settings)
        return
    try:
        check_destination(url, settings=settings, resolver=resolver)
    except BlockedDestination as exc:
        raise InputRefused(exc.reason, code=exc.code) from None
