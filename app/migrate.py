"""Applying Alembic migrations from code (the CLI and the embedded launcher use it)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(settings: Settings) -> Config:
    """Alembic configuration pointing at this checkout's migrations and the settings' database."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = settings.sqlalchemy_url
    config.attributes["configure_logger"] = False
    return config


def upgrade_database(settings: Settings) -> None:
    """Bring the database schema to the newest revision."""
    if settings.sqlalchemy_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), "head")
