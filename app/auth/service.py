"""API keys: created once in clear, stored as a SHA-256 hash with a visible prefix."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.models import ApiKey, utcnow
from app.webhooks.signing import add_secret

KEY_PREFIX = "sr_"
VISIBLE_CHARS = 11  # "sr_" and eight random characters: enough to tell keys apart in a list
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant that owns jobs, and the key used."""

    owner: str
    key_id: uuid.UUID


@dataclass(frozen=True)
class CreatedKey:
    """A new key; `secret` is the only time the clear key exists."""

    key: ApiKey
    secret: str
    webhook_secret: str  # the key's `whsec_` signing secret, also shown only now


def hash_key(secret: str) -> str:
    """The stored form of a key. Keys carry 256 random bits, so a plain hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, *, name: str, owner: str | None = None) -> CreatedKey:
    """Create a key for `owner` (defaults to the key's name)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name, owner=owner or name, prefix=secret[:VISIBLE_CHARS], key_hash=hash_key(secret)
    )
    session.add(key)
    session.flush()
    webhook_secret = add_secret(session, api_key_id=key.id)
    return CreatedKey(key=key, secret=secret, webhook_secret=webhook_secret.secret)


def list_keys(session: Session) -> list[ApiKey]:
    """All keys, newest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())))


def find_key(session: Session, *, key_ref: str) -> ApiKey | None:
    """The one key whose id or visible prefix is `key_ref`; None when not exactly one matches."""
    conditions = [ApiKey.prefix == key_ref]
    try:
        conditions.append(ApiKey.id == uuid.UUID(key_ref))
    except ValueError:
        pass
    keys = list(session.scalars(select(ApiKey).where(or_(*conditions))))
    return keys[0] if len(keys) == 1 else None


def revoke_key(session: Session, *, key_ref: str) -> ApiKey | None:
    """Revoke the key whose id or visible prefix is `key_ref`; None when no key matches."""
    key = find_key(session, key_ref=key_ref)
    if key is None:
        return None
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def authenticate(session: Session, *, secret: str) -> Principal | None:
    """The principal for a clear key, or None if it is unknown or revoked."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(secret)))
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        session.commit()
    return Principal(owner=key.owner, key_id=key.id)
