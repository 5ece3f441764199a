"""Container health checks, one per role (the images' HEALTHCHECK and the task definitions).

    python -m workers.healthcheck [auto|api|worker [NAME]|beat|flower|queue-metrics]

`auto` (the default) looks at PID 1, which workers/entrypoint.sh replaced with the role's own
process, so one HEALTHCHECK line in an image serves every role. `worker NAME` pings the node
NAME@hostname (what the entrypoint starts as `-n NAME@%h`); without NAME the node name is read
from PID 1, which needs the worker to be PID 1 (no init process). Exit 0 healthy, 1 not.
"""

from __future__ import annotations

import socket
import sys
import time
import urllib.request
from pathlib import Path

from app.config import Settings, get_settings

API_URL = "http://127.0.0.1:8000/health"
# Flower listens on FLOWER_PORT (on 0.0.0.0 in containers); /healthcheck needs no login.
FLOWER_URL = "http://127.0.0.1:{port}/healthcheck"
TIMEOUT_SECONDS = 5.0


def role_of(cmdline: list[str]) -> str:
    """The role a process command line belongs to (as workers/entrypoint.sh starts them)."""
    joined = " ".join(cmdline)
    if "uvicorn" in joined:
        return "api"
    if "workers.queue_metrics" in joined:
        return "queue-metrics"
    if "flower" in cmdline:
        return "flower"
    if "beat" in cmdline:
        return "beat"
    if "worker" in cmdline:
        return "worker"
    raise ValueError(f"no health check for {joined!r}")


def pid1_cmdline() -> list[str]:
    """The command line of PID 1 (the container's main process)."""
    raw = Path("/proc/1/cmdline").read_bytes()
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def worker_node_name(cmdline: list[str]) -> str:
    """The Celery node name the worker answers to (`-n NAME@%h`, %h being the hostname)."""
    host = socket.gethostname()
    for flag, value in zip(cmdline, cmdline[1:], strict=False):
        if flag in ("-n", "--hostname"):
            return value.replace("%h", host).replace("%n", host.split(".")[0])
    return f"celery@{host}"


def check_http(url: str) -> None:
    """The URL answers 2xx."""
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise RuntimeError(f"{url} answered {response.status}")


def check_worker(node: str) -> None:
    """The worker answers a ping through the broker (it is alive and consuming)."""
    from app.celery_app import celery_app

    replies = celery_app.control.ping(destination=[node], timeout=TIMEOUT_SECONDS)
    if not any(node in reply for reply in replies):
        raise RuntimeError(f"{node} did not answer a ping")


def check_broker(settings: Settings) -> None:
    """Beat is only useful while it can reach the broker."""
    from workers.ready import check_broker as ready_check_broker

    ready_check_broker(settings)


def check_heartbeat(settings: Settings) -> None:
    """The queue-depth publisher sampled recently."""
    from workers.queue_metrics import heartbeat_path

    path = heartbeat_path(settings)
    if not path.exists():
        raise RuntimeError("no sample published yet")
    age = time.time() - float(path.read_text() or 0)
    if age > 3 * settings.queue_metrics_interval_seconds + 30:
        raise RuntimeError(f"last sample {age:.0f} s ago")


def check(
    role: str, settings: Settings, cmdline: list[str] | None = None, name: str | None = None
) -> None:
    """Raise when the role's process is not healthy."""
    if role == "auto":
        cmdline = cmdline if cmdline is not None else pid1_cmdline()
        role = role_of(cmdline)
    if role == "api":
        check_http(API_URL)
    elif role == "flower":
        check_http(FLOWER_URL.format(port=settings.flower_port))
    elif role == "worker":
        if name:
            check_worker(f"{name}@{socket.gethostname()}")
        else:
            check_worker(worker_node_name(cmdline if cmdline is not None else pid1_cmdline()))
    elif role == "beat":
        check_broker(settings)
    elif role == "queue-metrics":
        check_heartbeat(settings)
    else:
        raise ValueError(f"unknown role {role!r}")


def main(argv: list[str] | None = None) -> int:
    """Command line: exit 0 when healthy."""
    args = sys.argv[1:] if argv is None else argv
    role = args[0] if args else "auto"
    name = args[1] if len(args) > 1 else None
    try:
        check(role, get_settings(), name=name)
    except Exception as exc:
        print(f"unhealthy ({role}): {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
