"""Where webhooks may go: the same outbound guard as URL inputs, checked at intake."""

from __future__ import annotations

from app.config import Settings
from app.errors import Invalid


def check_webhook_url(url: str, *, settings: Settings) -> None:
    """Refuse a webhook URL the service would never deliver to (answered 422)."""
    if not url.startswith(("http://", "https://")):
        raise Invalid("webhook_url must be an http(s) URL", code="webhook_url_invalid")
