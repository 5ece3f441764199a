"""Errors of the /v1 endpoints in OpenAI's shape, so OpenAI clients show them.

OpenAI answers {"error": {"message", "type", "param", "code"}}; the rest of this API answers
{"error": {"code", "message", "details"?}}. The /v1 body carries all of these keys, so both
kinds of client read it. Invalid parameters are 400 there (OpenAI's status), not 422.
A route class catches what the route and its dependencies (authentication, rate limits) raise;
errors of the whole application (the database down, a body over the size limit) keep the
application's shape, which still has `error.message` and `error.code`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import ApiError, DomainError, InvalidRequest, schema_problems

# Answers that describe a finished (or still running) job: a retry would submit the recording
# again as a new job, so OpenAI's client is told not to retry them by itself.
NO_RETRY = {"x-should-retry": "false"}


def error_type(status: int) -> str:
    """OpenAI's error type for a status code."""
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def openai_error(
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An error answer in OpenAI's shape (plus any `extra` keys, such as `details` or `job_id`)."""
    error = {"message": message, "type": error_type(status), "param": param, "code": code}
    return JSONResponse({"error": {**error, **extra}}, status, headers=headers)


def _invalid(exc: InvalidRequest) -> JSONResponse:
    fields = {p.field for p in exc.problems}
    param = fields.pop() if len(fields) == 1 else None
    return openai_error(400, exc.code, exc.message, param=param or None, details=exc.details)


def to_openai_error(exc: Exception) -> Response | None:
    """The OpenAI-shaped answer for an exception, or None to leave it to the app's handlers."""
    if isinstance(exc, InvalidRequest):
        return _invalid(exc)
    if isinstance(exc, RequestValidationError):
        return _invalid(InvalidRequest(schema_problems(exc.errors())))
    if isinstance(exc, ApiError):
        status = 400 if exc.status_code == 422 else exc.status_code
        details = {"details": exc.details} if exc.details is not None else {}
        return openai_error(status, exc.code, exc.message, headers=exc.headers, **details)
    if isinstance(exc, DomainError):
        status = 400 if exc.status_code == 422 else exc.status_code
        return openai_error(status, exc.code, exc.message, headers=getattr(exc, "headers", None))
    if isinstance(exc, StarletteHTTPException):
        return openai_error(
            exc.status_code, "http_error", str(exc.detail), headers=getattr(exc, "headers", None)
        )
    return None


class OpenAIRoute(APIRoute):
    """A route whose errors (its dependencies' too) are answered in OpenAI's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                answer = to_openai_error(exc)
                if answer is None:
                    raise
                return answer

        return route
