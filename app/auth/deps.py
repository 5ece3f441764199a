"""The FastAPI dependency that turns `X-API-Key` into a principal (and counts its request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from app.auth.quotas import check_request_rate
from app.auth.service import Principal, authenticate
from app.config import get_settings
from app.db import SessionDep
from app.errors import ApiError

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Your API key")


def current_principal(
    session: SessionDep,
    request: Request,
    secret: Annotated[str | None, Security(api_key_header)],
) -> Principal:
    """Authenticate the request or answer 401; over the key's request rate, 429."""
    if not secret:
        raise ApiError(401, "missing_api_key", "Send your API key in the X-API-Key header.")
    principal = authenticate(session, secret=secret)
    if principal is None:
        raise ApiError(401, "invalid_api_key", "The API key is unknown or has been revoked.")
    # Added to whatever the route answers by app.ops.middleware (routes may build their own
    # Response objects, which a FastAPI `response` parameter would not reach).
    request.state.rate_limit_headers = check_request_rate(
        session, key_id=principal.key_id, settings=get_settings()
    )
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
