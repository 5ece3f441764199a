"""Fetching a recording from a URL: streamed, with a size cap and timeouts."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.pipeline.errors import PipelineError

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
CHUNK = 1024 * 1024


def fetch_url(url: str, target: Path, *, max_bytes: int) -> int:
    """Download `url` into `target`; PipelineError with a reason when it cannot be had."""
    timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    written = 0
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise PipelineError(
                    "input_unavailable", f"Fetching the URL answered HTTP {response.status_code}."
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise PipelineError("input_too_large", f"The recording is over {max_bytes} bytes.")
            with target.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise PipelineError(
                            "input_too_large", f"The recording is over {max_bytes} bytes."
                        )
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise PipelineError("input_unavailable", f"Fetching the URL failed: {exc}") from exc
    if written == 0:
        raise PipelineError("empty_audio", "The URL returned an empty body.")
    return written
