"""Where webhooks may go: the same outbound guard as URL inputs, checked at intake (and again
at every attempt, in `app.webhooks.delivery.send_webhook_request`)."""

from __future__ import annotations

from app.config import Settings
from app.errors import Invalid
from app.netguard import BlockedDestination, check_destination


def check_webhook_url(url: str, *, settings: Settings) -> None:
    """Refuse a webhook URL the service would never deliver to (answered 422)."""
    try:
        check_destination(url, settings=settings)
    except BlockedDestination as exc:
        raise Invalid(f"webhook_url: {exc.reason}", code=f"webhook_{exc.code}") from None
