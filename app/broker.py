"""What the broker holds right now: which task messages are alive, and how deep each queue is.

The reconciler uses this to tell a queued job whose message is waiting from one whose message was
lost (a flushed or restarted Redis). Redis and the embedded folder broker can be read without
consuming; for other brokers the answer is "unknown" and the reconciler falls back to age.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.config import Settings

log = logging.getLogger(__name__)

# kombu's Redis transport keeps one list per priority step; these are its default suffixes.
_REDIS_PRIORITY_SEP = "\x06\x16"
_REDIS_PRIORITY_STEPS = (0, 3, 6, 9)
_REDIS_UNACKED = "unacked"


@dataclass
class BrokerSnapshot:
    """Task ids present in the broker (waiting or delivered but unacknowledged), and depths."""

    task_ids: set[str] = field(default_factory=set)
    depth: dict[str, int] = field(default_factory=dict)
    unacked: int = 0


def _task_id(raw: bytes | str) -> str | None:
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    headers: dict[str, Any] = message.get("headers") or {}
    task_id = headers.get("id") or (message.get("properties") or {}).get("correlation_id")
    return str(task_id) if task_id else None


def _redis_snapshot(url: str, queues: list[str]) -> BrokerSnapshot:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        snap = BrokerSnapshot()
        for queue in queues:
            keys = [queue] + [f"{queue}{_REDIS_PRIORITY_SEP}{p}" for p in _REDIS_PRIORITY_STEPS[1:]]
            depth = 0
            for key in keys:
                for raw in client.lrange(key, 0, -1):
                    depth += 1
                    if task_id := _task_id(raw):
                        snap.task_ids.add(task_id)
            snap.depth[queue] = depth
        for raw in client.hvals(_REDIS_UNACKED):
            snap.unacked += 1
            try:
                message = json.loads(raw)[0]
            except (ValueError, IndexError, TypeError):
                continue
            if task_id := _task_id(json.dumps(message)):
                snap.task_ids.add(task_id)
        return snap
    finally:
        client.close()


def _folder_snapshot(folder: Path, queues: list[str]) -> BrokerSnapshot:
    snap = BrokerSnapshot(depth=dict.fromkeys(queues, 0))
    for path in folder.glob("*.msg"):
        queue = path.name.rsplit(".", 2)[-2] if path.name.count(".") >= 2 else ""
        if queue not in snap.depth:
            continue
        try:
            raw = path.read_bytes()
        except FileNotFoundError:  # consumed while we looked
            continue
        snap.depth[queue] += 1
        if task_id := _task_id(raw):
            snap.task_ids.add(task_id)
    return snap


def snapshot(settings: Settings, queues: list[str]) -> BrokerSnapshot | None:
    """Read the broker without consuming; None when this broker cannot be read that way."""
    url = settings.celery_broker_url
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            return _redis_snapshot(url, queues)
        if url.startswith("filesystem"):
            return _folder_snapshot(settings.broker_folder / "queue", queues)
    except Exception as exc:  # the broker being down is the reconciler's problem, not a crash
        log.warning("could not read the broker: %s", exc)
    return None


def _redis_depths(url: str, queues: list[str]) -> dict[str, int]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            pipe.llen(queue)
            for step in _REDIS_PRIORITY_STEPS[1:]:
                pipe.llen(f"{queue}{_REDIS_PRIORITY_SEP}{step}")
        counts = pipe.execute()
    finally:
        client.close()
    per_queue = len(_REDIS_PRIORITY_STEPS)
    return {q: int(sum(counts[i * per_queue : (i + 1) * per_queue])) for i, q in enumerate(queues)}


def _folder_depths(folder: Path, queues: list[str]) -> dict[str, int]:
    depth = dict.fromkeys(queues, 0)
    for path in folder.glob("*.msg"):
        queue = path.name.rsplit(".", 2)[-2] if path.name.count(".") >= 2 else ""
        if queue in depth:
            depth[queue] += 1
    return depth


def _amqp_depths(settings: Settings, queues: list[str]) -> dict[str, int]:
    from kombu import Connection

    depth = {}
    with Connection(settings.celery_broker_url, connect_timeout=5) as connection:
        channel = connection.default_channel
        for queue in queues:
            depth[queue] = int(channel.queue_declare(queue=queue, passive=True).message_count)
    return depth


def queue_depths(settings: Settings, queues: list[str]) -> dict[str, int]:
    """Messages waiting in each queue, counted without reading them (for metrics).

    Raises when the broker cannot be reached, so the caller can report it as down.
    """
    url = settings.celery_broker_url
    if url.startswith(("redis://", "rediss://", "unix://")):
        return _redis_depths(url, queues)
    if url.startswith("filesystem"):
        return _folder_depths(settings.broker_folder / "queue", queues)
    return _amqp_depths(settings, queues)
