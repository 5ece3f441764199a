"""A client's webhook endpoint on 127.0.0.1: it verifies every request with the
`standardwebhooks` reference library and answers what a test scripts.

Like a well-built receiver it processes each `webhook-id` once, so a retry after a timeout
(the request arrived, the answer did not) does not run the client's logic twice.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str | None
    answered: str
    at: float = field(default_factory=time.monotonic)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def payload(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """Scripted answers: an int is a status code, "timeout" processes and then answers too late,
    ("status", {"header": "value"}) adds headers. When the script runs out it answers 200."""

    def __init__(self, secret: str, *, timeout_sleep: float = 4.0) -> None:
        self.webhook = Webhook(secret)
        self.timeout_sleep = timeout_sleep
        self.script: deque[Any] = deque()
        self.requests: list[Received] = []
        self.processed: dict[str, Any] = {}  # webhook-id -> payload: the client's logic ran once
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                receiver._handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/scribe"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("content-length", 0)))
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            payload = self.webhook.verify(body, headers)
            verified, error = True, None
        except WebhookVerificationError as exc:
            payload, verified, error = None, False, str(exc)
        with self.lock:
            action = self.script.popleft() if self.script else 200
            extra: dict[str, str] = {}
            if isinstance(action, tuple):
                action, extra = action
            self.requests.append(Received(headers, body, verified, error, str(action)))
            if not verified:
                action = 401
            elif action in (200, "timeout"):
                self.processed.setdefault(headers["webhook-id"], payload)
        if action == "timeout":
            time.sleep(self.timeout_sleep)
            action = 200
        try:
            handler.send_response(int(action))
            for name, value in extra.items():
                handler.send_header(name, value)
            handler.send_header("content-length", "2")
            handler.end_headers()
            handler.wfile.write(b"ok")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def wait_for(self, count: int, timeout: float = 60) -> list[Received]:
        """Wait until `count` requests have arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.1)
        raise AssertionError(f"{len(self.requests)} of {count} webhook requests arrived")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
