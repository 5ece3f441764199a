"""Request body limits enforced while streaming, so an oversized upload is never held whole."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ApiError, error_body


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "file_too_large",
        f"The request body is larger than the limit of {limit} bytes.",
        # Close the connection, so the server stops reading (and discarding) the rest.
        headers={"Connection": "close"},
    )


class BodySizeLimitMiddleware:
    """Refuses bodies over `max_bytes`: at once by Content-Length, else while reading."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._reject(send, _too_large(limit))
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)  # answered by the ApiError handler inside the app
            return message

        await self.app(scope, limited_receive, send)

    @staticmethod
    async def _reject(send: Send, error: ApiError) -> None:
        body = json.dumps(error_body(error.code, error.message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": error.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
