"""Readiness of what the API depends on: the database, the broker and the storage backend.

Each check runs in its own thread with a time limit, so one component that hangs makes the
probe answer "down" in bounded time instead of hanging the probe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from sqlalchemy import text

from app.config import Settings

log = logging.getLogger(__name__)

COMPONENTS = ("database", "broker", "storage")

# Checks outlive their time limit when a component hangs; a small pool bounds how many can pile up.
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="probe")


@dataclass(frozen=True)
class ComponentStatus:
    """One component's state as a probe saw it."""

    name: str
    up: bool
    latency_ms: float
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON form used in probe bodies."""
        body: dict[str, object] = {
            "status": "up" if self.up else "down",
            "latency_ms": round(self.latency_ms, 1),
        }
        if self.error:
            body["error"] = self.error
        return body


def check_database(settings: Settings) -> None:
    """A round trip to the database."""
    from app.db import get_engine

    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


def check_broker(settings: Settings) -> None:
    """A round trip to the broker (PING for Redis; the folder for the embedded broker)."""
    url = settings.celery_broker_url
    timeout = settings.probe_timeout_seconds
    if url.startswith(("redis://", "rediss://", "unix://")):
        import redis

        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return
    if url.startswith("filesystem"):
        folder = settings.broker_folder / "queue"
        if not folder.is_dir():
            raise RuntimeError(f"broker folder {folder} is missing")
        return
    from kombu import Connection

    with Connection(url, connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)


def check_storage(settings: Settings) -> None:
    """The storage backend answers."""
    from app.storage import get_storage

    get_storage().check()


CHECKS: dict[str, Callable[[Settings], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


def _timed(name: str, check: Callable[[Settings], None], settings: Settings) -> ComponentStatus:
    started = time.perf_counter()
    try:
        check(settings)
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return ComponentStatus(
            name,
            False,
            (time.perf_counter() - started) * 1000,
            f"{type(exc).__name__}: {reason[0] if reason else ''}"[:300],
        )
    return ComponentStatus(name, True, (time.perf_counter() - started) * 1000)


def check_components(settings: Settings) -> dict[str, ComponentStatus]:
    """Every component's status, each check bounded by PROBE_TIMEOUT_SECONDS."""
    futures = {name: _pool.submit(_timed, name, check, settings) for name, check in CHECKS.items()}
    timeout = settings.probe_timeout_seconds
    deadline = time.monotonic() + timeout
    results: dict[str, ComponentStatus] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            results[name] = ComponentStatus(
                name, False, timeout * 1000, f"no answer within {timeout:g} s"
            )
    for status in results.values():
        if not status.up:
            log.warning("%s is down: %s", status.name, status.error)
    return results
