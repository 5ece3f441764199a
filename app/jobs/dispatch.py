"""Sending job messages: a task id is recorded with the row, the message goes out after commit.

Every job kind has one task and one queue; the API and the reconciler send by name, so neither
imports the code that runs the task.
"""

from __future__ import annotations

import logging
import uuid

from app import tasknames
from app.models import Job, utcnow

log = logging.getLogger(__name__)

# job kind -> (task name, queue)
ROUTES: dict[str, tuple[str, str]] = {
    "transcription": (tasknames.TRANSCRIBE, tasknames.QUEUE_TRANSCRIBE),
    "enhancement": (tasknames.ENHANCE, tasknames.QUEUE_DEFAULT),  # issue 4: the CPU queue
}


def prepare_dispatch(job: Job) -> str:
    """Record a fresh task id on the job (commit before publishing it)."""
    task_id = f"{job.id}.{uuid.uuid4().hex[:12]}"
    job.task_id = task_id
    job.enqueued_at = utcnow()
    return task_id


def publish_job(job_id: uuid.UUID, kind: str, task_id: str) -> bool:
    """Send the job's message; False if the broker refused (the reconciler resends later)."""
    from app.celery_app import celery_app

    task_name, queue = ROUTES[kind]
    try:
        celery_app.send_task(
            task_name,
            args=[str(job_id)],
            task_id=task_id,
            queue=queue,
            routing_key=queue,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception as exc:
        log.warning("could not send job %s to the broker (will be resent): %s", job_id, exc)
        return False
    return True
