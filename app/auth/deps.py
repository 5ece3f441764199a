"""The FastAPI dependency that turns `X-API-Key` into a principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader

from app.auth.service import Principal, authenticate
from app.db import SessionDep
from app.errors import ApiError

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Your API key")


def current_principal(
    session: SessionDep, secret: Annotated[str | None, Security(api_key_header)]
) -> Principal:
    """Authenticate the request or answer 401."""
    if not secret:
        raise ApiError(401, "missing_api_key", "Send your API key in the X-API-Key header.")
    principal = authenticate(session, secret=secret)
    if principal is None:
        raise ApiError(401, "invalid_api_key", "The API key is unknown or has been revoked.")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
