"""The one Celery app, shared by the API (to send) and every worker pool (to run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import worker_process_init
from kombu import Queue

from app import tasknames
from app.config import Settings, get_settings


def broker_transport(settings: Settings) -> str | None:
    """The kombu transport class for the broker: ours for the embedded folder broker (see
    app/folder_transport.py), else None (the URL's scheme picks kombu's own)."""
    if settings.celery_broker_url.startswith("filesystem"):
        return "app.folder_transport:Transport"
    return None


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    """Transport options: a visibility timeout above the longest job, or the broker folders."""
    if broker_transport(settings) is not None:
        from app.folder_transport import folder_options

        return folder_options(settings.broker_folder)
    return {"visibility_timeout": settings.job_timeout_seconds + 3600}


class Scheduler(PersistentScheduler):
    """Celery's persistent beat scheduler, which first creates the folder of its schedule file
    (a beat started with a new DATA_DIR would otherwise die on its first line)."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()


def create_celery(settings: Settings) -> Celery:
    """Build the Celery app from settings."""
    app = Celery(
        "scribe_rabbit", include=["app.jobs.tasks", "app.webhooks.tasks", "app.enhance.tasks"]
    )
    app.conf.update(
        broker_url=settings.celery_broker_url,
        broker_transport=broker_transport(settings),
        broker_transport_options=broker_transport_options(settings),
        broker_connection_retry_on_startup=True,
        # Queues on the anonymous exchange: routing needs no binding table in the broker, so
        # a flushed Redis still delivers what is sent afterwards.
        task_queues=[
            Queue(tasknames.QUEUE_TRANSCRIBE, routing_key=tasknames.QUEUE_TRANSCRIBE),
            Queue(tasknames.QUEUE_DEFAULT, routing_key=tasknames.QUEUE_DEFAULT),
        ],
        task_default_queue=tasknames.QUEUE_DEFAULT,
        task_default_exchange="",
        task_default_routing_key=tasknames.QUEUE_DEFAULT,
        task_routes={tasknames.TRANSCRIBE: {"queue": tasknames.QUEUE_TRANSCRIBE}},
        # At-least-once: a message is acknowledged only when its task has finished.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_send_sent_event=True,
        worker_send_task_events=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "reconcile": {
                "task": tasknames.RECONCILE,
                "schedule": settings.reconcile_interval_seconds,
                "options": {"queue": tasknames.QUEUE_DEFAULT, "expires": 60},
            },
            # Retention (issue 3): delete expired inputs and results from storage.
            "purge-expired": {
                "task": tasknames.PURGE_EXPIRED,
                "schedule": settings.retention_interval_seconds,
                "options": {"queue": tasknames.QUEUE_DEFAULT, "expires": 60},
            },
            # Issue 4: webhook retries that are due and deliveries whose message was lost.
            "sweep-webhooks": {
                "task": tasknames.SWEEP_WEBHOOKS,
                "schedule": settings.webhook_sweep_interval_seconds,
                "options": {"queue": tasknames.QUEUE_DEFAULT, "expires": 60},
            },
        },
        beat_scheduler="app.celery_app:Scheduler",
        beat_schedule_filename=str((settings.data_dir / "celerybeat-schedule").resolve()),
    )
    return app


celery_app = create_celery(get_settings())
app = celery_app  # `celery -A app.celery_app` finds it by this name too


@worker_process_init.connect
def _init_worker_process(**_: Any) -> None:
    """A forked pool child opens its own database connections."""
    from app import db

    db.reset_engine()


# Operations (issue 5): ids and traces across the queue, JSON logs, readiness and the worker's
# metrics exporter (`--metrics-port`).
from app.ops import worker as _worker_ops  # noqa: E402

_worker_ops.install(celery_app)
