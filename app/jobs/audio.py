"""A job's recording for playback: short-lived links an `<audio>` element can load.

A media element cannot send the `X-API-Key` header, and an API key must never travel in a URL.
So an authenticated call hands out a link that opens one job's recording for a short while
(PRESIGNED_URL_EXPIRES_SECONDS): presigned by S3 or GCS, or, with local storage, this API's own
URL with a token. The token is an HMAC over the job, the key and the expiry, keyed by a value
derived from the API key's stored hash, so it needs no new secret, it names no key, and revoking
the key ends every link it made. The original upload is served as it is, with its media type,
and byte ranges (browsers seek with them); a browser plays what it can decode (FLAC, MP3, WAV,
Ogg/Opus, AAC/M4A, WebM in Chromium), and the page says so when it cannot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.config import Settings
from app.errors import DomainError, NotFound
from app.jobs.service import Gone, get_job
from app.models import ApiKey, Job
from app.storage import Storage

TOKEN_CONTEXT = b"scribe-rabbit media link v1"


class InvalidLink(DomainError):
    status_code = 401
    code = "invalid_media_link"


@dataclass(frozen=True)
class MediaLink:
    """Where the recording can be loaded without headers, and until when."""

    url: str
    expires_at: datetime
    media_type: str
    served_by: str  # "api" (token URL) or "storage" (presigned)


def media_type(filename: str | None) -> str:
    """The recording's media type from its name; only audio or video types are ever sent."""
    guessed = mimetypes.guess_type(filename or "")[0] if filename else None
    if guessed and guessed.split("/")[0] in ("audio", "video"):
        return guessed
    return "application/octet-stream"


def playable_job(session: Session, *, principal: Principal, job_id: uuid.UUID) -> Job:
    """The caller's job whose uploaded recording is still stored."""
    job = get_job(session, principal=principal, job_id=job_id)
    if job.purged_at is not None:
        raise Gone(f"the recording of job {job_id} was deleted when its retention ended")
    if not job.input_key:
        raise NotFound(
            f"job {job_id} read its recording from a URL; only uploads are kept for playback",
            code="audio_unavailable",
        )
    return job


def _signing_key(key_hash: str) -> bytes:
    return hmac.new(key_hash.encode(), TOKEN_CONTEXT, hashlib.sha256).digest()


def _signature(key_hash: str, job_id: uuid.UUID, key_id: uuid.UUID, expires: int) -> str:
    message = f"{job_id}.{key_id}.{expires}".encode()
    digest = hmac.new(_signing_key(key_hash), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(session: Session, *, principal: Principal, job_id: uuid.UUID, expires: int) -> str:
    """A token that opens this job's recording until `expires` (Unix seconds)."""
    key_hash = session.scalar(select(ApiKey.key_hash).where(ApiKey.id == principal.key_id))
    assert key_hash is not None  # the key authenticated this very request
    signature = _signature(key_hash, job_id, principal.key_id, expires)
    return f"{principal.key_id.hex}.{expires}.{signature}"


def principal_from_token(session: Session, *, token: str, job_id: uuid.UUID) -> Principal:
    """The key that made a valid, unexpired token for this job; InvalidLink otherwise."""
    try:
        key_hex, expires_text, signature = token.split(".")
        key_id, expires = uuid.UUID(hex=key_hex), int(expires_text)
    except ValueError:
        raise InvalidLink("The media link is malformed; ask for a new one.") from None
    if expires < time.time():
        raise InvalidLink("The media link has expired; ask for a new one.")
    key = session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    if key is None or key.revoked_at is not None:
        raise InvalidLink("The media link's API key is unknown or has been revoked.")
    expected = _signature(key.key_hash, job_id, key_id, expires)
    if not hmac.compare_digest(expected, signature):
        raise InvalidLink("The media link is not valid for this job.")
    return Principal(owner=key.owner, key_id=key.id)


def media_link(
    session: Session,
    *,
    principal: Principal,
    job_id: uuid.UUID,
    api_url: str,
    settings: Settings,
    storage: Storage,
) -> MediaLink:
    """A link that plays the job's recording without headers (`api_url`: this API's endpoint)."""
    job = playable_job(session, principal=principal, job_id=job_id)
    assert job.input_key is not None
    lifetime = timedelta(seconds=settings.presigned_url_expires_seconds)
    expires_at = datetime.now(UTC) + lifetime
    kind = media_type(job.input_filename)
    presigned = storage.presign_download(
        job.input_key,
        expires=lifetime,
        filename=job.input_filename or f"{job.id}-recording",
        content_type=kind,
    )
    if presigned is not None:
        return MediaLink(url=presigned, expires_at=expires_at, media_type=kind, served_by="storage")
    token = make_token(
        session, principal=principal, job_id=job.id, expires=int(expires_at.timestamp())
    )
    sep = "&" if "?" in api_url else "?"
    return MediaLink(
        url=f"{api_url}{sep}token={token}", expires_at=expires_at, media_type=kind, served_by="api"
    )
