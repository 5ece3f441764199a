"""The FastAPI dependency that turns an API key into a principal (and counts its request).

The key comes in `X-API-Key` or, as OpenAI-style clients send it, in `Authorization: Bearer`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.auth.quotas import check_request_rate
from app.auth.service import Principal, authenticate
from app.config import get_settings
from app.db import SessionDep
from app.errors import ApiError

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Your API key")
bearer_token = HTTPBearer(
    auto_error=False, description="Your API key as a bearer token (what OpenAI clients send)"
)


def current_principal(
    session: SessionDep,
    request: Request,
    secret: Annotated[str | None, Security(api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_token)],
) -> Principal:
    """Authenticate the request or answer 401; over the key's request rate, 429."""
    if not secret and bearer is not None:
        secret = bearer.credentials
    if not secret:
        raise ApiError(
            401,
            "missing_api_key",
            "Send your API key in the X-API-Key header (or as Authorization: Bearer <key>).",
        )
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
