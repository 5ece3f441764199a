"""The first requests of a fresh API process build the rate limiter at the same time."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REDIS_URL, ROOT

FIRST_REQUESTS = f"""
import threading
from app.auth.quotas import RequestRateLimiter

errors = []

def first_request():
    try:
        RequestRateLimiter({REDIS_URL!r})
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=first_request) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(errors)
"""


def test_concurrent_first_requests_all_get_a_limiter() -> None:
    # In a fresh interpreter, as uvicorn starts: limits looks up redis.__version__ without
    # waiting for another thread's import of redis, which answered those requests with 500.
    out = subprocess.run(
        [sys.executable, "-c", FIRST_REQUESTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
