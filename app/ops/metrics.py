"""Prometheus metrics: the names operators rely on, recorded by the API and the workers.

One design for every process kind. A Celery prefork worker runs jobs in forked pool processes
and uvicorn may run several API processes, so prometheus-client's multiprocess mode is used
whenever PROMETHEUS_MULTIPROC_DIR is set: each process writes its samples to files in that
folder, and whoever serves /metrics adds the files up. The API serves them on its /metrics; a
worker pod serves its own on `--metrics-port` (app.ops.worker). On one machine (the embedded
default, the tests) every process shares one folder, so the API's /metrics shows the workers'
counters too. Broker queue depth, job counts by status and component health are read at scrape
time by the API (OpsCollector), never counted, so they are right after any restart.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.config import export_multiproc_dir, get_settings, multiproc_dir_in_environment

_settings = get_settings()
if _settings.prometheus_multiproc_dir is not None:
    # Set from .env rather than the process environment: prometheus-client looks only there.
    export_multiproc_dir(_settings.prometheus_multiproc_dir)

from prometheus_client import (  # noqa: E402  (the environment must be settled first)
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

log = logging.getLogger(__name__)

# Choose the value store again in case prometheus-client was imported before the folder was set.
values.ValueClass = values.get_value_class()

JOB_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 10800, 14400)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
RTF_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10)

# --- Jobs (API: submitted; workers: everything else) -------------------------------------------
JOBS_SUBMITTED = Counter(
    "scribe_rabbit_jobs_submitted", "Jobs accepted by the API (committed and queued).", ["kind"]
)
JOBS_COMPLETED = Counter(
    "scribe_rabbit_jobs_completed", "Jobs that ended succeeded, counted by the worker.", ["kind"]
)
JOBS_FAILED = Counter(
    "scribe_rabbit_jobs_failed",
    "Jobs that ended failed for good, by the error code the client sees.",
    ["kind", "reason"],
)
JOB_DURATION = Histogram(
    "scribe_rabbit_job_duration_seconds",
    "Time a worker spent on one job attempt, from claim to outcome.",
    ["kind", "outcome"],
    buckets=JOB_BUCKETS,
)
STAGE_REAL_TIME_FACTOR = Histogram(
    "scribe_rabbit_stage_real_time_factor",
    "Processing seconds per second of audio, by pipeline stage (lower is faster).",
    ["stage"],
    buckets=RTF_BUCKETS,
)
AUDIO_SECONDS = Counter(
    "scribe_rabbit_audio_seconds_processed",
    "Seconds of audio in jobs that succeeded.",
    ["kind"],
)
RECONCILER_ACTIONS = Counter(
    "scribe_rabbit_reconciler_actions",
    "Jobs the reconciler requeued after a lost worker, resent after a lost message, or failed.",
    ["action"],
)
WORKER_READY = Gauge(
    "scribe_rabbit_worker_ready",
    "Worker pool processes that finished their warm-up and take jobs.",
    multiprocess_mode="livesum",
)

# --- Webhooks ------------------------------------------------------------------------------------
WEBHOOK_DELIVERIES = Counter(
    "scribe_rabbit_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, retry (another attempt follows), gave_up.",
    ["outcome"],
)
WEBHOOK_DELIVERY_SECONDS = Histogram(
    "scribe_rabbit_webhook_delivery_seconds",
    "Time one webhook delivery attempt took.",
    ["outcome"],
    buckets=HTTP_BUCKETS,
)

# --- HTTP API ------------------------------------------------------------------------------------
HTTP_REQUEST_DURATION = Histogram(
    "scribe_rabbit_http_request_duration_seconds",
    "API request latency by route template and status (a stream counts until it ends).",
    ["method", "route", "status"],
    buckets=HTTP_BUCKETS,
)
RATE_LIMITED = Counter(
    "scribe_rabbit_rate_limited_requests",
    "Requests refused with 429 by a per-key limit (requests or active_jobs).",
    ["limit"],
)
RATE_LIMIT_ERRORS = Counter(
    "scribe_rabbit_rate_limit_errors",
    "Rate-limit checks skipped because the counter store was unreachable (requests allowed).",
)


def record_job_submitted(kind: str) -> None:
    """Count a job the API committed and queued."""
    JOBS_SUBMITTED.labels(kind=kind).inc()


def record_webhook_delivery(outcome: str, seconds: float | None = None) -> None:
    """Count one webhook delivery attempt: delivered, retry or gave_up."""
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    if seconds is not None:
        WEBHOOK_DELIVERY_SECONDS.labels(outcome=outcome).observe(seconds)


def record_reconcile(
    requeued_expired: int, resent_lost: int, failed: Iterable[tuple[str, str]]
) -> None:
    """Count what one reconciler pass did; `failed` holds (kind, reason) of jobs it gave up."""
    if requeued_expired:
        RECONCILER_ACTIONS.labels(action="requeued_expired").inc(requeued_expired)
    if resent_lost:
        RECONCILER_ACTIONS.labels(action="resent_lost").inc(resent_lost)
    for kind, reason in failed:
        RECONCILER_ACTIONS.labels(action="failed_exhausted").inc()
        JOBS_FAILED.labels(kind=kind, reason=reason).inc()


class JobRecorder:
    """Times one job attempt in a worker and records its outcome exactly once."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._started = time.perf_counter()
        self._recorded = False

    def _finish(self, outcome: str) -> bool:
        if self._recorded:
            return False
        self._recorded = True
        JOB_DURATION.labels(kind=self.kind, outcome=outcome).observe(
            time.perf_counter() - self._started
        )
        return True

    def succeeded(self, *, audio_seconds: float | None, timings: Mapping[str, float]) -> None:
        """The job succeeded: count it, its audio and each stage's real-time factor."""
        if not self._finish("succeeded"):
            return
        JOBS_COMPLETED.labels(kind=self.kind).inc()
        if audio_seconds:
            AUDIO_SECONDS.labels(kind=self.kind).inc(audio_seconds)
            for stage, seconds in timings.items():
                if not stage.endswith("_load"):  # model loading is not per audio second
                    STAGE_REAL_TIME_FACTOR.labels(stage=stage).observe(seconds / audio_seconds)

    def failed(self, reason: str) -> None:
        """The job failed for good with `reason` (its error code)."""
        if self._finish("failed"):
            JOBS_FAILED.labels(kind=self.kind, reason=reason).inc()

    def ended(self, outcome: str) -> None:
        """The attempt ended without a final result (canceled, released for a retry)."""
        self._finish(outcome)


# --- Exposition ----------------------------------------------------------------------------------


def multiprocess_dir() -> Path | None:
    """The multiprocess folder this process writes to, or None in single-process mode."""
    return multiproc_dir_in_environment()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(path: Path) -> None:
    """Drop live-gauge files of processes that died without saying so (SIGKILL, OOM)."""
    pids = set()
    for name in glob.glob(str(path / "gauge_live*_*.db")):
        if match := re.search(r"_(\d+)\.db$", name):
            pids.add(int(match.group(1)))
    for pid in pids:
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, str(path))


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The text exposition of this pod's metrics (all processes) plus `extra` collectors."""
    path = multiprocess_dir()
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        forget_dead_processes(path)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(path))
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    extras = list(extra)
    if extras:
        scrape = CollectorRegistry()
        for collector in extras:
            scrape.register(collector)
        output += generate_latest(scrape)
    return output


def gauge(name: str, documentation: str, labels: Mapping[str, float], label: str) -> Metric:
    """A gauge family with one sample per label value."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value, sample in labels.items():
        family.add_metric([value], sample)
    return family


def gauge_value(name: str, documentation: str, value: float) -> Metric:
    """A gauge family with a single unlabelled sample."""
    return GaugeMetricFamily(name, documentation, value=value)
