"""The embedded default: API, transcription worker, light worker and beat on one machine.

No external services: a SQLite file, Celery's filesystem broker and a local storage folder,
all under DATA_DIR. The processes run the same code as a production deployment.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from types import FrameType

from app.config import Settings, process_environment
from app.migrate import upgrade_database

STOP_GRACE_SECONDS = 15


def commands(settings: Settings) -> dict[str, list[str]]:
    """The processes to start, by name."""
    py = sys.executable
    return {
        "api": [
            py,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            settings.api_host,
            "--port",
            str(settings.api_port),
        ],
        "transcribe-worker": [
            py,
            "-m",
            "celery",
            "-A",
            "workers.transcribe",
            "worker",
            "-Q",
            "transcribe",
            "--concurrency",
            "1",
            "-n",
            "transcribe@%h",
            "--loglevel",
            "INFO",
        ],
        "default-worker": [
            py,
            "-m",
            "celery",
            "-A",
            "app.celery_app",
            "worker",
            "-Q",
            "default",
            "--concurrency",
            "1",
            "-n",
            "default@%h",
            "--loglevel",
            "INFO",
        ],
        "beat": [py, "-m", "celery", "-A", "app.celery_app", "beat", "--loglevel", "INFO"],
    }


def metrics_environment(settings: Settings) -> dict[str, str]:
    """Every process writes its metrics into one folder, so the API's /metrics shows them all.

    DATA_DIR/metrics unless PROMETHEUS_MULTIPROC_DIR is set; a folder of our own is emptied
    first (prometheus-client's multiprocess mode needs a clean folder per run).
    """
    folder = settings.metrics_dir
    if settings.prometheus_multiproc_dir is None:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return process_environment(PROMETHEUS_MULTIPROC_DIR=str(folder))


def run(settings: Settings) -> int:
    """Migrate, start every process, and stop them all on Ctrl-C or when one dies."""
    upgrade_database(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = metrics_environment(settings)
    processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands(settings).items()}
    print(
        f"Scribe Rabbit is starting: API on http://{settings.api_host}:{settings.api_port} "
        f"(docs at /docs), data in {settings.data_dir.resolve()}. Ctrl-C stops everything.",
        flush=True,
    )
    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    while not stopping:
        for name, proc in processes.items():
            code = proc.poll()
            if code is not None:
                print(f"{name} exited with {code}; stopping the others", file=sys.stderr)
                exit_code = code or 1
                stopping = True
                break
        time.sleep(0.5)
    for proc in processes.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in processes.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return exit_code
