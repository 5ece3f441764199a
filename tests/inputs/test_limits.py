"""Size limits at the API, measured on a real uvicorn process: an oversized body is refused with
413 while it streams, and the API's memory does not grow with it."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServiceStack

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
LIMIT = 200 * MIB  # a buffering API would grow by at least this much
SENT = 3 * LIMIT


@pytest.fixture(scope="module")
def api() -> Iterator[ServiceStack]:
    stack = ServiceStack("limits", {"MAX_UPLOAD_BYTES": str(LIMIT)}, worker=False, beat=False)
    yield stack
    stack.stop()


def _memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the peak so far) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


class Zeros:
    """A request body of `total` bytes, produced as it is sent; counts what was taken."""

    def __init__(self, total: int, head: bytes = b"", tail: bytes = b"") -> None:
        self.total, self.head, self.tail = total, head, tail
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        chunk = bytes(MIB)
        while self.sent < self.total:
            self.sent += len(chunk)
            yield chunk
        yield self.tail


def _refused(answer: httpx.Response) -> None:
    assert answer.status_code == 413, answer.text
    error = answer.json()["error"]
    assert error["code"] == "file_too_large" and str(LIMIT) in error["message"]


def test_oversized_bodies_get_413_without_memory_growth(api: ServiceStack) -> None:
    key = api.make_key()
    headers = {"X-API-Key": key}
    assert httpx.get(f"{api.url}/api/v1/jobs", headers=headers).status_code == 200  # warm up
    before = _memory_kib(api.api.pid)

    # A multipart upload with no Content-Length: refused while it streams.
    boundary = uuid.uuid4().hex
    body = Zeros(
        SENT,
        head=(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="long.wav"\r\nContent-Type: audio/wav\r\n\r\n'
        ).encode(),
        tail=f"\r\n--{boundary}--\r\n".encode(),
    )
    answer = httpx.post(
        f"{api.url}/api/v1/transcribe",
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=iter(body),
        timeout=60,
    )
    _refused(answer)
    assert body.sent < LIMIT + 64 * MIB, "the API read on past its limit"

    # A direct upload to the API's own PUT endpoint (local storage), streamed the same way.
    created = httpx.post(f"{api.url}/api/v1/uploads", headers=headers, json={}).json()
    put_body = Zeros(SENT)
    answer = httpx.put(created["upload_url"], headers=headers, content=iter(put_body), timeout=60)
    _refused(answer)
    assert put_body.sent < LIMIT + 64 * MIB

    # A declared Content-Length over the limit is refused before a byte of the body is sent.
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as sock:
        sock.sendall(
            (
                "POST /api/v1/transcribe HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"X-API-Key: {key}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {SENT}\r\n\r\n"
            ).encode()
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b'"file_too_large"' in payload

    after = _memory_kib(api.api.pid)
    grown_mib = (after["VmHWM"] - before["VmHWM"]) / 1024
    print(
        f"API memory: RSS {before['VmRSS'] / 1024:.0f} -> {after['VmRSS'] / 1024:.0f} MiB, "
        f"peak grew {grown_mib:.1f} MiB while refusing {2 * SENT / MIB:.0f} MiB of bodies"
    )
    assert grown_mib < 32, f"the API's peak memory grew by {grown_mib:.0f} MiB"

    # Nothing of the refused upload is left in storage (not even a temporary file).
    storage = Path(api.env["STORAGE_DIR"])
    leftovers = [p for p in storage.rglob("*") if p.is_file()] if storage.exists() else []
    assert leftovers == []
    late = httpx.post(
        f"{api.url}/api/v1/transcribe", headers=headers, json={"upload_id": created["upload_id"]}
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "upload_not_received"
