"""Helpers for the operations tests: a real API server process, queue pausing, metric reading."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, TMP, free_port


class ApiServer:
    """`uvicorn app.main:app` in its own process on a free port, with the test environment."""

    def __init__(self, name: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.log_path = TMP / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"API did not start:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(scope="session")
def api_server(database: str) -> Iterator[ApiServer]:
    """The API as a deployment runs it: a uvicorn process on the session's database and Redis."""
    server = ApiServer("api")
    server.start()
    yield server
    server.stop()


@contextmanager
def paused_queue(queue: str) -> Iterator[None]:
    """Stop every running worker from taking `queue` for the block (messages then wait)."""
    from app.celery_app import celery_app

    replies = celery_app.control.cancel_consumer(queue, reply=True, timeout=3)
    paused = [name for reply in replies or [] for name in reply]
    time.sleep(1.5)  # a Redis consumer's blocking read (1 s) may still be under way
    try:
        yield
    finally:
        if paused:
            celery_app.control.add_consumer(queue, destination=paused, reply=True, timeout=3)


def scrape(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples of a Prometheus text exposition, parsed by prometheus-client's own parser."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def json_lines(path: Path) -> list[dict[str, object]]:
    """The JSON objects of a log file (lines that are not JSON are skipped)."""
    import json

    records = []
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records
