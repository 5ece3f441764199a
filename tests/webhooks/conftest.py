"""Fixtures of the webhook tests: a tenant with its webhook secret, and a receiver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.webhooks.receiver import WebhookReceiver


@dataclass(frozen=True)
class Tenant:
    key: str
    webhook_secret: str
    key_id: uuid.UUID


@pytest.fixture()
def tenant() -> Tenant:
    """A fresh tenant: its API key and the webhook secret shown once at creation."""
    from app.auth.service import create_key
    from app.db import session_scope

    with session_scope() as session:
        created = create_key(session, name="webhooks", owner=f"tenant-{uuid.uuid4().hex[:8]}")
        return Tenant(created.secret, created.webhook_secret, created.key.id)


@pytest.fixture()
def receiver(tenant: Tenant) -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(tenant.webhook_secret)
    yield server
    server.close()
