"""Beat starts with a DATA_DIR that does not exist yet (its schedule file lives there)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT


def test_beat_creates_the_folder_of_its_schedule_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    env = os.environ | {"DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "app.celery_app", "beat", "--loglevel", "INFO"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(data_dir.glob("celerybeat-schedule*")):
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.2)
        assert list(data_dir.glob("celerybeat-schedule*")), "no schedule file was written"
        time.sleep(1)
        assert proc.poll() is None  # still ticking
    finally:
        proc.terminate()
        proc.wait(15)
