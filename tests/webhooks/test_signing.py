"""Signatures are exactly what the `standardwebhooks` reference verifier accepts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from app.models import utcnow
from app.webhooks.signing import generate_secret, signature_headers

BODY = json.dumps({"type": "job.succeeded", "data": {"job_id": "j1"}}, separators=(",", ":"))


def test_signature_verifies_with_the_reference_library() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    headers = signature_headers(
        message_id="msg_1", body=BODY, secrets_=[secret], timestamp=utcnow()
    )
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(generate_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("j1", "j2"), headers)


def test_a_delivery_older_than_the_tolerance_window_is_rejected() -> None:
    secret = generate_secret()
    old = signature_headers(
        message_id="msg_1", body=BODY, secrets_=[secret], timestamp=utcnow() - timedelta(minutes=6)
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, old)
    recent = signature_headers(
        message_id="msg_1", body=BODY, secrets_=[secret], timestamp=utcnow() - timedelta(minutes=4)
    )
    assert Webhook(secret).verify(BODY, recent)


def test_during_a_rotation_both_secrets_sign() -> None:
    old, new = generate_secret(), generate_secret()
    headers = signature_headers(
        message_id="msg_2", body=BODY, secrets_=[new, old], timestamp=utcnow()
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers) and Webhook(new).verify(BODY, headers)
