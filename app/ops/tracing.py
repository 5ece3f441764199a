"""OpenTelemetry tracing, switched on by OTEL_EXPORTER_OTLP_ENDPOINT (off by default).

The API traces requests (FastAPI) and the messages it sends (Celery producer spans); a worker
pool process traces the tasks it runs (Celery consumer spans) and its Redis calls. The Celery
instrumentation writes the W3C trace context into each message's headers and reads it back in
the worker, so one trace runs from the HTTP request through the queue into the job.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from app import __version__
from app.config import Settings

log = logging.getLogger(__name__)

# Probes and scrapes would drown the traces that matter.
EXCLUDED_URLS = "health,ready,startup,metrics"

_provider: TracerProvider | None = None


def tracing_enabled(settings: Settings) -> bool:
    """Tracing is on when an OTLP endpoint is configured."""
    return bool(settings.otel_exporter_otlp_endpoint)


def otlp_exporter(settings: Settings) -> SpanExporter:
    """An OTLP/HTTP span exporter for the configured collector."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint)


def make_provider(
    settings: Settings, role: str, exporter: SpanExporter | None = None
) -> TracerProvider:
    """A tracer provider for this process (`role` is api or worker), batching to `exporter`."""
    resource = Resource.create(
        {
            "service.name": f"{settings.otel_service_name}-{role}",
            "service.namespace": settings.otel_service_name,
            "service.version": __version__,
            "deployment.environment": settings.environment,
        }
    )
    provider = TracerProvider(
        resource=resource,
        sampler=ParentBased(TraceIdRatioBased(settings.otel_traces_sampler_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter or otlp_exporter(settings)))
    return provider


def instrument_api(app: Any, provider: TracerProvider) -> None:
    """Trace the API's requests and the task messages it sends."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive"]
    )
    instrument_celery(provider)


def instrument_celery(provider: TracerProvider) -> None:
    """Producer and consumer spans for Celery messages, and spans for Redis calls."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    from app.celery_app import celery_app

    # The instrumentation finds a task's name through the task registry; the API sends by name
    # and would otherwise leave its producer spans open. The task modules are thin and light.
    celery_app.loader.import_default_modules()
    if not CeleryInstrumentor().is_instrumented_by_opentelemetry:
        CeleryInstrumentor().instrument(tracer_provider=provider)
    if not RedisInstrumentor().is_instrumented_by_opentelemetry:
        RedisInstrumentor().instrument(tracer_provider=provider)


def setup_api_tracing(app: Any, settings: Settings) -> TracerProvider | None:
    """Switch tracing on for the API process when configured."""
    global _provider
    if not tracing_enabled(settings):
        return None
    _provider = make_provider(settings, "api")
    trace.set_tracer_provider(_provider)
    instrument_api(app, _provider)
    log.info("tracing to %s", settings.otel_exporter_otlp_endpoint)
    return _provider


def setup_worker_tracing(settings: Settings) -> TracerProvider | None:
    """Switch tracing on in a worker pool process (after the fork: the batch thread is new)."""
    global _provider
    if not tracing_enabled(settings):
        return None
    _provider = make_provider(settings, "worker")
    trace.set_tracer_provider(_provider)
    instrument_celery(_provider)
    return _provider


def shutdown_tracing() -> None:
    """Flush and stop the exporter (a pool process that exits sends what it holds)."""
    if _provider is not None:
        _provider.shutdown()
