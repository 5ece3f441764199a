"""Fetching a recording from an http(s) URL: through the network guard, streamed, with a size
cap, timeouts and a deadline for the whole download."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from app.config import Settings
from app.netguard import BlockedDestination, Resolver, guarded_stream
from app.pipeline.errors import PipelineError

CHUNK = 1024 * 1024


def _too_large(max_bytes: int) -> PipelineError:
    return PipelineError(
        "input_too_large", f"The recording is over the limit of {max_bytes} bytes."
    )


def fetch_url(
    url: str, target: Path, *, settings: Settings, resolver: Resolver | None = None
) -> int:
    """Download `url` into `target`; PipelineError with a reason when it cannot be had."""
    max_bytes = settings.max_upload_bytes
    timeout = httpx.Timeout(
        settings.url_read_timeout_seconds, connect=settings.url_connect_timeout_seconds
    )
    deadline = time.monotonic() + settings.url_fetch_timeout_seconds
    written = 0
    try:
        with guarded_stream(
            "GET",
            url,
            settings=settings,
            # Identity: the size cap then counts what the server sends, not what it inflates to.
            headers={"Accept-Encoding": "identity"},
            timeout=timeout,
            follow_redirects=True,
            max_redirects=settings.url_max_redirects,
            resolver=resolver,
        ) as response:
            if response.status_code >= 400:
                raise PipelineError(
                    "input_unavailable", f"Fetching the URL answered HTTP {response.status_code}."
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(max_bytes)
            with target.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise _too_large(max_bytes)
                    if time.monotonic() > deadline:
                        raise PipelineError(
                            "input_unavailable",
                            "Fetching the URL took longer than "
                            f"{settings.url_fetch_timeout_seconds:.0f} s.",
                        )
                    out.write(chunk)
    except BlockedDestination as exc:
        raise PipelineError(exc.code, exc.reason) from None
    except httpx.TooManyRedirects:
        raise PipelineError(
            "input_unavailable",
            f"The URL redirected more than {settings.url_max_redirects} times.",
        ) from None
    except httpx.HTTPError as exc:
        raise PipelineError("input_unavailable", f"Fetching the URL failed: {exc}") from exc
    if written == 0:
        raise PipelineError("empty_audio", "The URL returned an empty body.")
    return written


def fetch_input(url: str, target: Path, *, settings: Settings) -> int:
    """Fetch a job's URL input: an s3:// or gs:// object, or an http(s) URL."""
    from app.inputs.objects import fetch_object
    from app.inputs.sources import InputRefused, parse_object_url

    try:
        obj = parse_object_url(url)
    except InputRefused as exc:
        raise PipelineError("url_not_allowed", exc.message) from None
    if obj is not None:
        return fetch_object(obj, target, settings=settings)
    return fetch_url(url, target, settings=settings)
