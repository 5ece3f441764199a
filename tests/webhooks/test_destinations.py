"""Webhook URLs pass the outbound guard: at intake, and again at every attempt."""

from __future__ import annotations

from typing import Any

import pytest

from app.config import get_settings
from app.webhooks.delivery import send_webhook_request
from tests.conftest import SHARED_DATA, Tenant
from tests.webhooks.receiver import WebhookReceiver

PRIVATE = [
    "http://169.254.169.254/latest/meta-data/",  # a cloud metadata service
    "http://10.0.0.5/hooks",
    "http://[::1]:8080/hooks",  # outside ALLOWED_PRIVATE_NETWORKS (127.0.0.0/8 in tests)
]


@pytest.mark.integration
@pytest.mark.parametrize("url", PRIVATE)
def test_private_webhook_urls_are_refused_at_intake(client: Any, tenant: Tenant, url: str) -> None:
    headers = {"X-API-Key": tenant.key}
    as_json = client.post(
        "/api/v1/transcribe",
        headers=headers,
        json={"url": "http://127.0.0.1:9/a.wav", "webhook_url": url},
    )
    assert as_json.status_code == 422, as_json.text
    error = as_json.json()["error"]
    assert error["code"] == "webhook_url_not_allowed"
    assert "ALLOWED_PRIVATE_NETWORKS" in error["message"]
    with (SHARED_DATA / "jfk.flac").open("rb") as fh:
        as_form = client.post(
            "/api/v1/transcribe",
            headers=headers,
            files={"file": ("jfk.flac", fh, "audio/flac")},
            data={"webhook_url": url},
        )
    assert (
        as_form.status_code == 422 and as_form.json()["error"]["code"] == "webhook_url_not_allowed"
    )
    jobs = client.get("/api/v1/jobs", headers=headers).json()["data"]
    assert jobs == []  # nothing was created


def test_an_attempt_to_a_private_address_is_refused_without_a_connection(
    receiver: WebhookReceiver,
) -> None:
    strict = get_settings().model_copy(update={"allowed_private_networks": []})
    outcome = send_webhook_request(receiver.url, body="{}", headers={}, settings=strict)
    assert outcome.permanent and outcome.status_code is None
    assert outcome.error and "loopback" in outcome.error
    assert receiver.requests == []
    allowed = send_webhook_request(receiver.url, body="{}", headers={}, settings=get_settings())
    assert allowed.status_code == 401  # reached (and refused: it was not signed)
