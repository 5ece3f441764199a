"""Per-request context for the API: a request id, its latency metric and one access log line.

A plain ASGI middleware (not BaseHTTPMiddleware) so streamed answers (uploads, Server-Sent
Events) pass through untouched.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.ops import metrics
from app.ops.context import REQUEST_ID_HEADER, accept_request_id, request_id_var

access_log = logging.getLogger("app.access")

# Probes and scrapes are frequent and uninteresting; their access lines are DEBUG.
QUIET_PATHS = frozenset({"/health", "/ready", "/startup", "/metrics"})


class RequestContextMiddleware:
    """Accepts or makes an X-Request-ID, echoes it, adds the key's RateLimit headers (set by the
    auth dependency in the request state), times the request and logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = accept_request_id(incoming)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                present = {name.lower() for name, _ in headers}
                for name, value in scope.get("state", {}).get("rate_limit_headers", {}).items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        # Each request runs in its own task and context copy, so the id is never reset here: an
        # error that escapes is then still logged with it by the outermost 500 handler.
        request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics.HTTP_REQUEST_DURATION.labels(
                method=scope["method"], route=template, status=str(status)
            ).observe(elapsed)
            path = scope["path"]
            access_log.log(
                logging.DEBUG if path in QUIET_PATHS else logging.INFO,
                "%s %s %d %.1f ms",
                scope["method"],
                path,
                status,
                elapsed * 1000,
                extra={
                    "method": scope["method"],
                    "path": path,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
