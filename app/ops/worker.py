"""Worker-side operations: ids and traces around each task, readiness, and a metrics exporter.

- Every process: the request id and job id travel in task message headers (before_task_publish)
  and are bound around each task run (task_prerun / task_postrun), so worker log lines name them.
- Pool processes: tracing starts after the fork; each process reports readiness in a small JSON
  file once its start-up (model warm-up in transcription pools) is done.
- The worker's main process: the `WorkerProbe` bootstep serves `/metrics` (all pool processes'
  samples, multiprocess mode), `/health` and `/ready` on `--metrics-port` / WORKER_METRICS_PORT,
  and answers the `scribe_readiness` remote-control command (`celery inspect`).

Nothing here imports app.ops.metrics at module level: the metrics folder must be settled in the
main process before the first metric exists (WorkerProbe does that, before the pool forks).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from contextvars import Token
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
from celery import Celery, bootsteps
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
)
from celery.worker.control import inspect_command

from app.config import export_multiproc_dir, get_settings, multiproc_dir_in_environment
from app.ops.context import (
    add_ids_to_task_headers,
    ids_from_task_request,
    job_id_var,
    request_id_var,
)

log = logging.getLogger(__name__)

READY_DIR = Path(tempfile.gettempdir()) / "scribe-rabbit-workers"

# Set by a pool's warm-up (workers/transcribe.py) before this process reports readiness.
_warm_up: dict[str, Any] | None = None
_warm_up_error: str | None = None
_task_tokens: dict[str, tuple[Token[str | None], Token[str | None]]] = {}


# --- Every process: ids in message headers and around task runs ------------------------------


def _job_task_names() -> frozenset[str]:
    from app.jobs.dispatch import ROUTES

    return frozenset(task for task, _queue in ROUTES.values())


@before_task_publish.connect(weak=False)
def _headers_from_context(
    headers: dict[str, Any] | None = None, body: Any = None, **_: Any
) -> None:
    if headers is not None:
        add_ids_to_task_headers(headers, body, job_tasks=_job_task_names())


@task_prerun.connect(weak=False)
def _bind_task_ids(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id is None or task is None:
        return
    ids = ids_from_task_request(task.request)
    _task_tokens[task_id] = (
        request_id_var.set(ids["request_id"]),
        job_id_var.set(ids.get("job_id")),
    )


@task_postrun.connect(weak=False)
def _unbind_task_ids(task_id: str | None = None, **_: Any) -> None:
    tokens = _task_tokens.pop(task_id or "", None)
    if tokens is not None:
        job_id_var.reset(tokens[1])
        request_id_var.reset(tokens[0])


@setup_logging.connect(weak=False)
def _configure_worker_logging(loglevel: int | str | None = None, **_: Any) -> None:
    """Celery workers and beat log like the API does (JSON on stdout by default)."""
    from app.logs import configure_logging

    settings = get_settings()
    configure_logging(loglevel or settings.log_level, settings.log_format)


# --- Pool processes ---------------------------------------------------------------------------


def record_warm_up(*, checks: dict[str, Any] | None = None, error: str | None = None) -> None:
    """Called by a pool's warm-up: what it loaded and checked, or why it failed."""
    global _warm_up, _warm_up_error
    _warm_up = checks or {}
    _warm_up_error = error


def _ready_file(pid: int) -> Path:
    return READY_DIR / f"{pid}.json"


def report_process_ready() -> dict[str, Any]:
    """Write this pool process's readiness (after every other start-up hook has run)."""
    from app.ops import metrics

    report: dict[str, Any] = {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "ready": _warm_up_error is None,
        "checks": _warm_up if _warm_up is not None else {"models": "none needed"},
    }
    if _warm_up_error:
        report["error"] = _warm_up_error
    READY_DIR.mkdir(parents=True, exist_ok=True)
    target = _ready_file(os.getpid())
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(report))
    tmp.replace(target)
    metrics.WORKER_READY.set(1 if report["ready"] else 0)
    return report


def _on_process_init(**_: Any) -> None:
    from app.ops.tracing import setup_worker_tracing

    setup_worker_tracing(get_settings())
    report_process_ready()


@worker_process_shutdown.connect(weak=False)
def _on_process_shutdown(**_: Any) -> None:
    from prometheus_client import multiprocess

    from app.ops.metrics import multiprocess_dir
    from app.ops.tracing import shutdown_tracing

    shutdown_tracing()
    _ready_file(os.getpid()).unlink(missing_ok=True)
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(os.getpid(), str(path))


# --- The main process: readiness report, exporter, inspect command -----------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def readiness(parent_pid: int | None = None) -> dict[str, Any]:
    """This worker's readiness: its live pool processes and what each reported."""
    parent_pid = parent_pid or os.getpid()
    processes = []
    for path in sorted(READY_DIR.glob("*.json")) if READY_DIR.is_dir() else []:
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if report.get("ppid") != parent_pid:
            continue
        if not _alive(int(report.get("pid", 0))):
            path.unlink(missing_ok=True)
            continue
        processes.append(report)
    ready = sum(1 for p in processes if p.get("ready"))
    errors = sorted({p["error"] for p in processes if p.get("error")})
    body: dict[str, Any] = {
        "status": "ready" if ready else "not_ready",
        "pool": {"ready": ready, "reporting": len(processes)},
        "processes": processes,
    }
    if not ready:
        body["error"] = {
            "code": "not_ready",
            "message": "; ".join(errors) or "no pool process has finished its start-up yet",
        }
    return body


@inspect_command()
def scribe_readiness(state: Any, **_: Any) -> dict[str, Any]:
    """`celery -A app.celery_app inspect scribe_readiness`: this worker's readiness report."""
    return readiness()


def _handler(render_metrics: Callable[[], bytes], parent_pid: int) -> type[BaseHTTPRequestHandler]:
    class ProbeHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (the stdlib's name)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                from prometheus_client import CONTENT_TYPE_LATEST

                self._send(200, render_metrics(), CONTENT_TYPE_LATEST)
            elif path == "/health":
                self._json(200, {"status": "ok"})
            elif path == "/ready":
                report = readiness(parent_pid)
                self._json(200 if report["status"] == "ready" else 503, report)
            else:
                self._json(404, {"error": {"code": "not_found", "message": f"no {path} here"}})

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("probe: " + format, *args)

    return ProbeHandler


class WorkerProbe(bootsteps.StartStopStep):
    """The worker's exporter: /metrics, /health, /ready on the metrics port."""

    requires = ("celery.worker.components:Pool",)  # start after the pool has forked

    def __init__(self, parent: Any, metrics_port: int | None = None, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        settings = get_settings()
        self.port = settings.worker_metrics_port if metrics_port is None else metrics_port
        self.host = settings.worker_metrics_host
        self.server: ThreadingHTTPServer | None = None
        self.owned_dir: Path | None = None
        if self.port and multiproc_dir_in_environment() is None:
            # Pool processes are forked from here: give them a metrics folder before they exist.
            self.owned_dir = Path(tempfile.mkdtemp(prefix="scribe-metrics-"))
            export_multiproc_dir(self.owned_dir)
        # Connected last, so it runs after every other process-init hook (the warm-up included).
        worker_process_init.connect(_on_process_init, weak=False)

    def start(self, parent: Any) -> None:
        if not self.port:
            return
        from app.ops.metrics import exposition

        handler = _handler(exposition, os.getpid())
        try:
            self.server = ThreadingHTTPServer((self.host, self.port), handler)
        except OSError as exc:
            log.error("worker exporter could not listen on %s:%s: %s", self.host, self.port, exc)
            return
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, name="metrics-exporter", daemon=True
        ).start()
        log.info("worker exporter on http://%s:%s (/metrics /health /ready)", self.host, self.port)

    def stop(self, parent: Any) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.owned_dir is not None:
            shutil.rmtree(self.owned_dir, ignore_errors=True)


def install(app: Celery) -> None:
    """Add the exporter step and its `--metrics-port` option to the app's workers."""
    app.user_options["worker"].add(
        click.Option(
            ["--metrics-port"],
            type=int,
            default=None,
            help="Serve /metrics, /health and /ready on this port (default WORKER_METRICS_PORT).",
        )
    )
    app.steps["worker"].add(WorkerProbe)
