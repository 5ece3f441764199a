"""One error shape for every API answer: {"error": {"code", "message", "details"?}}."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client can act on, answered with its status and code."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


class DomainError(Exception):
    """A refusal by the domain logic; the API answers it with `status_code`."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Invalid(DomainError):
    status_code = 422
    code = "invalid_request"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: its field ("" for the whole body), a code a client can
    act on, and a message."""

    field: str
    code: str
    message: str


class InvalidRequest(Invalid):
    """Every problem found in one request, answered together as one 422: the problem's own code
    when there is one, else `invalid_request`, and each problem in `details`."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        code = problems[0].code if len(problems) == 1 else "invalid_request"
        message = "; ".join(
            f"{p.field}: {p.message.rstrip('.')}" if p.field else p.message.rstrip(".")
            for p in problems
        )
        super().__init__(message, code=code)
        self.problems = list(problems)
        self.details = [{"field": p.field, "code": p.code, "msg": p.message} for p in problems]


def schema_problems(errors: Sequence[Any]) -> list[Problem]:
    """Pydantic's errors as problems (code `invalid_request`), without the `body` prefix."""
    return [
        Problem(
            ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            "invalid_request",
            str(err["msg"]),
        )
        for err in errors
    ]


@cache
def _field_adapter(schema: type[BaseModel], name: str) -> TypeAdapter[Any]:
    field = schema.model_fields[name]
    return TypeAdapter(Annotated[field.annotation, field])  # type: ignore[arg-type]


def sound_values(schema: type[BaseModel], data: Any, errors: Sequence[Any]) -> dict[str, Any]:
    """The fields of `data` that are valid on their own when the whole failed `schema`, so the
    server-side checks can still look at them (field validators of the model do not run)."""
    if not isinstance(data, dict):
        return {}
    failed = {str(err["loc"][0]) for err in errors if err.get("loc")}
    values: dict[str, Any] = {}
    for name in schema.model_fields:
        if name in failed or name not in data:
            continue
        try:
            values[name] = _field_adapter(schema, name).validate_python(data[name])
        except ValidationError:
            continue
    return values


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of an error answer."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "msg": err["msg"]}
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to the one error shape; nothing leaks as a bare 500."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        headers = getattr(exc, "headers", None)  # e.g. Retry-After on a quota refusal
        details = getattr(exc, "details", None)  # e.g. every problem of an InvalidRequest
        return JSONResponse(
            error_body(exc.code, exc.message, details), exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        summary = "; ".join(f"{d['field'] or 'body'}: {d['msg']}" for d in details)
        return JSONResponse(error_body("invalid_request", summary, details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    def _database_unavailable() -> JSONResponse:
        return JSONResponse(
            error_body("database_unavailable", "The database is unavailable; try again shortly."),
            503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(OperationalError)
    async def _database_down(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc.orig)
        return _database_unavailable()

    @app.exception_handler(PoolTimeout)
    async def _database_busy(_request: Request, exc: PoolTimeout) -> JSONResponse:
        log.error("no database connection free: %s", exc)
        return _database_unavailable()

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:  # the connection dropped mid-request
            log.error("database connection lost: %s", exc.orig)
            return _database_unavailable()
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(error_body("internal_error", "An unexpected error occurred."), 500)
