"""The request id and job id of the work in hand, carried from the API to the workers.

Both live in context variables, so every log line of a request or task can name them. The API
sets the request id per HTTP request; Celery message headers carry both ids to the worker
(task arguments stay plain ids), and a worker that sends further tasks passes them on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
# Message header names: prefixed so they never collide with Celery's own.
TASK_HEADER_REQUEST_ID = "scribe_request_id"
TASK_HEADER_JOB_ID = "scribe_job_id"

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    """A fresh request id."""
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """The caller's request id when it is safe to log and echo, else a fresh one."""
    if value and _VALID_REQUEST_ID.match(value):
        return value
    return new_request_id()


@contextmanager
def bound(*, request_id: str | None = None, job_id: str | None = None) -> Iterator[None]:
    """Set the ids for the duration of a block (only those given)."""
    tokens = []
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id)))
    if job_id is not None:
        tokens.append((job_id_var, job_id_var.set(job_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_ids() -> dict[str, str]:
    """The ids set in this context, by log field name."""
    ids = {}
    if (request_id := request_id_var.get()) is not None:
        ids["request_id"] = request_id
    if (job_id := job_id_var.get()) is not None:
        ids["job_id"] = job_id
    return ids


def add_ids_to_task_headers(
    headers: dict[str, Any], body: Any, *, job_tasks: frozenset[str]
) -> None:
    """Copy the ids into an outgoing task message (a job task's first argument is its job)."""
    request_id = request_id_var.get()
    if request_id is not None:
        headers.setdefault(TASK_HEADER_REQUEST_ID, request_id)
    job_id = job_id_var.get()
    if headers.get("task") in job_tasks:
        # Protocol 2 bodies are (args, kwargs, embed); a job task's first argument is its job.
        args = body[0] if isinstance(body, list | tuple) and body else None
        if isinstance(args, list | tuple) and args:
            job_id = str(args[0])
    if job_id is not None:
        headers.setdefault(TASK_HEADER_JOB_ID, job_id)


def ids_from_task_request(request: Any) -> dict[str, str]:
    """The ids a received task message carries; without a request id, one named after the task."""
    ids: dict[str, str] = {}
    request_id = getattr(request, TASK_HEADER_REQUEST_ID, None)
    ids["request_id"] = str(request_id) if request_id else f"task-{getattr(request, 'id', '')}"
    job_id = getattr(request, TASK_HEADER_JOB_ID, None)
    if job_id:
        ids["job_id"] = str(job_id)
    return ids
