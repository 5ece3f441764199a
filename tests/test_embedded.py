"""The embedded default: `scribe run` with no services (SQLite, folder broker, local storage)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SHARED_DATA, free_port

pytestmark = pytest.mark.slow


def test_scribe_run_serves_jobs_without_external_services(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "BROKER_URL", "STORAGE_DIR")
    }
    env |= {"DATA_DIR": str(tmp_path / "data"), "API_PORT": str(port), "WARMUP": "asr"}
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise AssertionError((tmp_path / "run.log").read_text())
        created = subprocess.run(
            [sys.executable, "-m", "app.cli", "keys", "create", "--name", "laptop"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        key = created.stdout.split(": ", 1)[1].strip()
        with (SHARED_DATA / "jfk.flac").open("rb") as fh:
            response = httpx.post(
                f"{base}/api/v1/transcribe",
                headers={"X-API-Key": key},
                files={"file": ("jfk.flac", fh)},
                timeout=30,
            )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        job: dict[str, object] = {}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            job = httpx.get(f"{base}/api/v1/jobs/{job_id}", headers={"X-API-Key": key}).json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        assert job["status"] == "succeeded", (job, (tmp_path / "run.log").read_text()[-3000:])
        text = httpx.get(
            f"{base}/api/v1/jobs/{job_id}/transcript",
            params={"format": "txt"},
            headers={"X-API-Key": key},
        ).text
        assert "ask not what your country can do for you" in text.lower().replace(",", "")
        assert (tmp_path / "data" / "scribe.db").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
