"""Standard Webhooks signing: `whsec_` secrets per API key, rotation with an overlap.

Signatures come from the `standardwebhooks` reference library, so what we send is exactly what
its verifier (and every receiver built on the specification) checks: `v1,` + base64 HMAC-SHA256
over `id.timestamp.body`. During a rotation both secrets sign, separated by a space.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from app.models import WebhookSecret, utcnow

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_secret() -> str:
    """A new `whsec_` secret: 256 random bits, base64 as the specification writes them."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def add_secret(session: Session, *, api_key_id: uuid.UUID) -> WebhookSecret:
    """Give a key a new signing secret (the caller commits)."""
    row = WebhookSecret(api_key_id=api_key_id, secret=generate_secret())
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Rotation:
    """The outcome of a rotation; `secret` is the only time the new secret is shown."""

    secret: str
    previous_expires_at: datetime


def rotate_secret(session: Session, *, api_key_id: uuid.UUID, overlap: timedelta) -> Rotation:
    """Add a new secret; secrets still active keep signing for `overlap`, then stop."""
    now = utcnow()
    expires = now + overlap
    session.execute(
        update(WebhookSecret)
        .where(
            WebhookSecret.api_key_id == api_key_id,
            or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > expires),
        )
        .values(expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    row = add_secret(session, api_key_id=api_key_id)
    return Rotation(secret=row.secret, previous_expires_at=expires)


def active_secrets(
    session: Session, *, api_key_id: uuid.UUID, now: datetime | None = None
) -> list[str]:
    """The secrets that sign now, newest first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(WebhookSecret.secret)
            .where(
                WebhookSecret.api_key_id == api_key_id,
                or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > now),
            )
            .order_by(WebhookSecret.created_at.desc())
        )
    )


def signature_headers(
    *, message_id: str, body: str, secrets_: list[str], timestamp: datetime
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    if not secrets_:
        raise ValueError("no webhook secret to sign with")
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets_
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
