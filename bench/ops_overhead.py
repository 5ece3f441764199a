"""What the operations layer costs per request: rate limiting in Redis, the request middleware,
and a /metrics scrape. Prints figures and writes bench/results/ops_overhead.json.

    .venv/bin/python bench/ops_overhead.py [--requests 500]

Starts its own redis-server and uses a SQLite file, so it needs nothing running. The API runs
in-process (Starlette's TestClient), so the figures are server-side costs without network.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is needed (make services installs it)")

    tmp = Path(tempfile.mkdtemp(prefix="scribe-bench-ops-"))
    port = _free_port()
    redis_proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    (tmp / "metrics").mkdir()
    os.environ.update(
        {
            "DATA_DIR": str(tmp / "data"),
            "DATABASE_URL": "",
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
            "RATE_LIMIT": "100000/second",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    try:
        time.sleep(0.5)
        from fastapi.testclient import TestClient

        from app.auth.quotas import set_key_limits
        from app.auth.service import create_key
        from app.config import get_settings
        from app.db import session_scope
        from app.main import app
        from app.migrate import upgrade_database

        upgrade_database(get_settings())
        with session_scope() as session:
            unlimited = create_key(session, name="bench-unlimited")
            limited = create_key(session, name="bench-limited")
            set_key_limits(session, key_id=unlimited.key.id, rate_limit="", max_active_jobs=None)
            keys = {"no_rate_limit": unlimited.secret, "rate_limit_in_redis": limited.secret}

        results: dict[str, object] = {"requests": args.requests}
        with TestClient(app) as client:
            for name, key in keys.items():
                for _ in range(20):  # warm up connections and caches
                    client.get("/api/v1/jobs", headers={"X-API-Key": key})
                timings = []
                for _ in range(args.requests):
                    start = time.perf_counter()
                    response = client.get("/api/v1/jobs", headers={"X-API-Key": key})
                    timings.append(time.perf_counter() - start)
                    assert response.status_code == 200, response.text
                results[f"GET /api/v1/jobs, {name}"] = _percentiles(timings)
            health = []
            for _ in range(args.requests):
                start = time.perf_counter()
                client.get("/health")
                health.append(time.perf_counter() - start)
            results["GET /health (middleware only)"] = _percentiles(health)
            scrapes = []
            for _ in range(50):
                start = time.perf_counter()
                body = client.get("/metrics").text
                scrapes.append(time.perf_counter() - start)
            results["GET /metrics"] = _percentiles(scrapes) | {"bytes": len(body)}
    finally:
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    for name, figures in results.items():
        print(f"{name:45} {figures}")
    out = ROOT / "bench" / "results" / "ops_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
