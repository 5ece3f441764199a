"""Process logging set-up: one JSON object per line on stdout (or plain text on a laptop).

Every record carries the request id and job id of the work in hand (app.ops.context) and, when
tracing is on, the trace and span ids, so one job can be followed from the API into a worker.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from app.ops.context import current_ids

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(job_id)s]: %(message)s"


class ContextFilter(logging.Filter):
    """Adds request_id, job_id, trace_id and span_id (when known) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current_ids().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        trace_ids = _trace_ids()
        for name, value in trace_ids.items():
            setattr(record, name, value)
        return True


def _trace_ids() -> dict[str, str]:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


class _TextDefaults(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name in ("request_id", "job_id"):
            if not hasattr(record, name):
                setattr(record, name, "-")
        return True


def make_handler(log_format: str = "json", stream: object = None) -> logging.Handler:
    """A stdout handler with the context filter and the chosen format."""
    handler = logging.StreamHandler(stream or sys.stdout)  # type: ignore[arg-type]
    handler.addFilter(ContextFilter())
    if log_format == "text":
        handler.addFilter(_TextDefaults())
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    else:
        handler.setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",
            )
        )
    return handler


def configure_logging(level: str | int = "INFO", log_format: str = "json") -> None:
    """Log to stdout once per process, in one format for our code, uvicorn and Celery."""
    root = logging.getLogger()
    if getattr(root, "_scribe_configured", False):
        return
    root.addHandler(make_handler(log_format))
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # uvicorn installs plain-text handlers of its own; send its records through ours instead.
    # Its access log is replaced by app.ops.middleware's, which names the request id.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    root._scribe_configured = True  # type: ignore[attr-defined]
