"""Flower, the Celery task dashboard, started from settings behind basic auth.

Flower reads its own FLOWER_* environment variables; the settings use the same names, so a
value from `.env` is handed to Flower through its process environment and never appears on a
command line (where `ps` would show the password).
"""

from __future__ import annotations

import sys

from app.config import Settings, process_environment

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class FlowerConfigError(ValueError):
    """Flower must not start with these settings."""


def flower_command(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start Flower; raises FlowerConfigError."""
    auth = (
        settings.flower_basic_auth.get_secret_value().strip() if settings.flower_basic_auth else ""
    )
    if auth:
        pairs = [pair for pair in auth.split(",") if pair]
        if not pairs or any(":" not in pair or pair.startswith(":") for pair in pairs):
            raise FlowerConfigError("FLOWER_BASIC_AUTH must be user:password[,user2:password2]")
    elif settings.environment != "development":
        raise FlowerConfigError(
            "Flower needs FLOWER_BASIC_AUTH=user:password outside development "
            f"(ENVIRONMENT={settings.environment})"
        )
    elif settings.flower_address not in LOOPBACK:
        raise FlowerConfigError(
            f"Flower without FLOWER_BASIC_AUTH may only listen on loopback, "
            f"not {settings.flower_address}"
        )
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "app.celery_app",
        "flower",
        f"--address={settings.flower_address}",
        f"--port={settings.flower_port}",
    ]
    overrides = {"FLOWER_BASIC_AUTH": auth} if auth else {}
    env = process_environment(**overrides)
    if not auth:
        env.pop("FLOWER_BASIC_AUTH", None)  # an empty value would reach Flower as one empty user
    return command, env
