"""The embedded broker: consumers never see a half-written message, and never die on a bad one."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection

from app.folder_transport import Transport, folder_options
from tests.conftest import ROOT


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[Connection]:
    with Connection(transport=Transport, transport_options=folder_options(tmp_path)) as conn:
        yield conn


def _bodies(connection: Connection, name: str, count: int) -> list[Any]:
    queue = connection.SimpleQueue(name)
    try:
        out = []
        for _ in range(count):
            message = queue.get(timeout=5)
            out.append(message.payload)
            message.ack()
        return out
    finally:
        queue.close()


def test_a_message_being_written_is_invisible_until_complete(
    connection: Connection, tmp_path: Path
) -> None:
    channel = connection.default_channel
    queue_dir = tmp_path / "queue"
    (queue_dir / ".1_x.jobs.msg.part").write_bytes(b'{"body": ')  # a writer still busy
    with pytest.raises(Empty):
        channel._get("jobs")
    channel._put("jobs", {"body": "whole"})
    assert channel._get("jobs") == {"body": "whole"}
    assert [p.name for p in queue_dir.iterdir()] == [".1_x.jobs.msg.part"]
    assert not any((tmp_path / "processed").iterdir())  # taken and removed


def test_an_unreadable_message_is_dropped_not_fatal(
    connection: Connection, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    channel = connection.default_channel
    (tmp_path / "queue" / "0_old.jobs.msg").write_bytes(b"")  # left by kombu's own transport
    channel._put("jobs", {"body": "next"})
    with caplog.at_level(logging.ERROR, logger="app.folder_transport"):
        assert channel._get("jobs") == {"body": "next"}
    assert "dropped unreadable broker message 0_old.jobs.msg" in caplog.text


PRODUCER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kombu import Connection
    from app.folder_transport import Transport, folder_options

    options = folder_options(Path(sys.argv[1]))
    with Connection(transport=Transport, transport_options=options) as conn:
        queue = conn.SimpleQueue("jobs")
        for i in range(int(sys.argv[2])):
            queue.put({"n": i, "pad": "x" * 20000})
        queue.close()
    """
)


def test_a_busy_producer_and_a_polling_consumer_lose_and_break_nothing(
    connection: Connection, tmp_path: Path
) -> None:
    count = 400
    producer = subprocess.Popen(
        [sys.executable, "-c", PRODUCER, str(tmp_path), str(count)], cwd=ROOT
    )
    try:
        received = _bodies(connection, "jobs", count)
    finally:
        producer.wait(60)
    assert producer.returncode == 0
    assert sorted(b["n"] for b in received) == list(range(count))
    assert all(len(json.dumps(b)) > 20000 for b in received)
