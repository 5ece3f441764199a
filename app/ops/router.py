"""Probes and metrics of the API process: /health, /ready, /startup and /metrics."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from sqlalchemy import func, select

from app import __version__
from app.config import Settings, get_settings
from app.errors import ApiError, error_body
from app.ops import metrics
from app.ops.health import COMPONENTS, check_components
from app.ops.schema import schema_state

log = logging.getLogger(__name__)

router = APIRouter(tags=["ops"])

_startup_done = False


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers (it checks nothing else, so a restart never cascades)."""
    return {"status": "ok", "version": __version__}


@router.get(
    "/ready",
    responses={503: {"description": "A component is down; the body names it."}},
)
def ready() -> JSONResponse:
    """Readiness: database, broker and storage reachable; each component's status in the body."""
    statuses = check_components(get_settings())
    body: dict[str, object] = {
        "status": "ready",
        "components": {name: status.as_dict() for name, status in statuses.items()},
    }
    down = [name for name, status in statuses.items() if not status.up]
    if not down:
        return JSONResponse(body)
    body["status"] = "unavailable"
    reasons = "; ".join(f"{name}: {statuses[name].error}" for name in down)
    body |= error_body("not_ready", f"{', '.join(down)} unavailable ({reasons})")
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


@router.get(
    "/startup",
    responses={503: {"description": "The database is unreachable or not migrated yet."}},
)
def startup() -> JSONResponse:
    """Startup: the database answers and its schema is at this code's newest migration."""
    global _startup_done
    if _startup_done:
        return JSONResponse({"status": "started"})
    state = schema_state(get_settings())
    if not state.ok:
        return JSONResponse(
            error_body("not_started", state.message) | {"status": "starting"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    _startup_done = True
    return JSONResponse({"status": "started", "schema": state.current})


class OpsCollector:
    """Read at scrape time: queue depth from the broker, jobs by status, component health."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        """Yield the scrape-time gauges; a component that is down yields its 0 and no data."""
        statuses = check_components(self.settings)
        yield metrics.gauge(
            "scribe_rabbit_component_up",
            "1 when the API reaches the component (database, broker, storage), else 0.",
            {name: float(statuses[name].up) for name in COMPONENTS},
            "component",
        )
        if statuses["broker"].up:
            try:
                depths = _queue_depths(self.settings)
            except Exception as exc:
                log.warning("could not read queue depth: %s", exc)
            else:
                yield metrics.gauge(
                    "scribe_rabbit_queue_depth",
                    "Messages waiting in each broker queue (read from the broker).",
                    {queue: float(depth) for queue, depth in depths.items()},
                    "queue",
                )
        if statuses["database"].up:
            try:
                counts = _active_jobs()
            except Exception as exc:
                log.warning("could not count jobs: %s", exc)
            else:
                yield metrics.gauge(
                    "scribe_rabbit_jobs_active",
                    "Jobs queued or running now, from the database.",
                    counts,
                    "status",
                )


def _queue_depths(settings: Settings) -> dict[str, int]:
    from app import broker
    from app.celery_app import celery_app

    queues = sorted(queue.name for queue in celery_app.conf.task_queues)
    return broker.queue_depths(settings, queues)


def _active_jobs() -> dict[str, float]:
    from app.db import session_scope
    from app.models import Job, JobStatus

    counts = {JobStatus.QUEUED.value: 0.0, JobStatus.RUNNING.value: 0.0}
    with session_scope() as session:
        rows = session.execute(
            select(Job.status, func.count())
            .where(Job.status.in_(list(counts)), Job.deleted_at.is_(None))
            .group_by(Job.status)
        )
        for status, count in rows:
            counts[status] = float(count)
    return counts


@router.get(
    "/metrics",
    response_class=Response,
    responses={401: {"description": "METRICS_TOKEN is set and the bearer token is missing"}},
)
def prometheus_metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus metrics of this pod's API processes, plus queue depth and component health.

    With METRICS_TOKEN set, a scraper must send `Authorization: Bearer <token>`.
    """
    settings = get_settings()
    if settings.metrics_token is not None:
        expected = f"Bearer {settings.metrics_token.get_secret_value()}"
        if not hmac.compare_digest((authorization or "").encode(), expected.encode()):
            raise ApiError(
                401,
                "metrics_token_required",
                "Send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
    body = metrics.exposition([OpsCollector(settings)])
    return Response(body, media_type=CONTENT_TYPE_LATEST)
