"""Whether the database schema is at the newest migration this code ships (the startup probe)."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.config import Settings


@dataclass(frozen=True)
class SchemaState:
    """The revisions the code expects and the database holds."""

    ok: bool
    message: str
    expected: tuple[str, ...] = ()
    current: tuple[str, ...] = ()


def schema_state(settings: Settings) -> SchemaState:
    """Compare the database's Alembic revision with the code's head revision(s)."""
    from app.db import get_engine
    from app.migrate import alembic_config

    expected = tuple(sorted(ScriptDirectory.from_config(alembic_config(settings)).get_heads()))
    try:
        with get_engine().connect() as connection:
            current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return SchemaState(
            False, f"the database is unreachable: {reason[0] if reason else exc}", expected
        )
    if current != expected:
        return SchemaState(
            False,
            f"the database schema is at {', '.join(current) or 'nothing'}, this code needs "
            f"{', '.join(expected)}; run `scribe migrate`",
            expected,
            current,
        )
    return SchemaState(True, "the schema is up to date", expected, current)
