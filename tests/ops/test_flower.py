"""Flower against the test broker, behind basic auth: it lists the worker and a finished task."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, TMP, CeleryProcess, free_port, wait_for_job

pytestmark = pytest.mark.integration

AUTH = ("ops", "flower-test-password")


@pytest.fixture(scope="module")
def flower(database: str) -> Iterator[str]:
    """`scribe flower` (what `make flower` runs) on a free port, with basic auth."""
    import os

    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "FLOWER_BASIC_AUTH": ":".join(AUTH),
        "FLOWER_PORT": str(port),
        "FLOWER_ADDRESS": "127.0.0.1",
    }
    log_path = TMP / f"flower-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "flower"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthcheck", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None:
                    break
                time.sleep(0.3)
        else:
            raise AssertionError(log_path.read_text())
        assert proc.poll() is None, log_path.read_text()
        yield base
    finally:
        proc.terminate()
        proc.wait(15)


def test_flower_needs_credentials(flower: str) -> None:
    assert httpx.get(f"{flower}/", timeout=10).status_code == 401
    assert httpx.get(f"{flower}/api/workers", timeout=10).status_code == 401
    assert httpx.get(f"{flower}/", auth=("ops", "wrong"), timeout=10).status_code == 401
    assert httpx.get(f"{flower}/", auth=AUTH, timeout=10).status_code == 200


def test_flower_lists_the_worker_and_a_finished_task(
    flower: str, client: Any, api_key: str, worker: CeleryProcess
) -> None:
    deadline = time.monotonic() + 60
    workers: dict[str, Any] = {}
    while time.monotonic() < deadline and not any(name.startswith("test-") for name in workers):
        workers = httpx.get(
            f"{flower}/api/workers", params={"refresh": "1"}, auth=AUTH, timeout=30
        ).json()
        time.sleep(0.5)
    name = next(n for n in workers if n.startswith("test-"))
    queues = {q["name"] for q in workers[name]["active_queues"]}
    assert {"transcribe", "default"} <= queues

    created = client.post(
        "/api/v1/transcribe",
        headers={"X-API-Key": api_key},
        json={"url": "http://127.0.0.1:9/nothing.wav"},
    ).json()
    assert wait_for_job(client, api_key, created["id"])["status"] == "failed"
    task: dict[str, Any] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = httpx.get(f"{flower}/api/tasks", auth=AUTH, timeout=10).json()
        task = next((t for t in tasks.values() if created["id"] in str(t.get("args"))), {})
        if task.get("state") == "SUCCESS":
            break
        time.sleep(0.5)
    assert task.get("state") == "SUCCESS", task
    assert task["name"] == "scribe.transcribe" and task["worker"] == name
    page = httpx.get(f"{flower}/tasks", auth=AUTH, timeout=10)
    assert page.status_code == 200


def test_flower_refuses_to_start_without_credentials_outside_development() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BASIC_AUTH"}
    env |= {"ENVIRONMENT": "production", "FLOWER_PORT": str(free_port())}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "flower"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FLOWER_BASIC_AUTH" in result.stderr


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="chromium missing (Debian package chromium)"
)
def test_screenshot_of_flower_in_headless_chromium(
    flower: str, client: Any, api_key: str, worker: CeleryProcess
) -> None:
    """scripts/flower_screenshot.py saves what an operator sees (kept in .cache/screenshots)."""
    created = client.post(
        "/api/v1/transcribe",
        headers={"X-API-Key": api_key},
        json={"url": "http://127.0.0.1:9/x.wav"},
    ).json()
    wait_for_job(client, api_key, created["id"])
    auth_file = TMP / "flower-auth"
    auth_file.write_text(":".join(AUTH))
    out = ROOT / ".cache" / "screenshots" / "flower-tasks.png"
    out.unlink(missing_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "flower_screenshot.py"),
            f"{flower}/tasks",
            str(out),
            "--auth-file",
            str(auth_file),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "no table rows" not in result.stderr, result.stderr  # the task list had rendered
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1400, 900)
    assert len(png) > 20_000, len(png)  # a rendered page, not a blank or an error box
