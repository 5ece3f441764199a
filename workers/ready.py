"""Readiness waits for containers: block until the database, its schema and the broker answer.

    python -m workers.ready database schema broker [--timeout 300]

An orchestrator starts containers in any order; a process that starts before PostgreSQL or
Redis answers (or before the migration task has run) waits here with a clear message instead of
crash-looping. Exits 0 when every check passes, 1 with the last reason when time runs out.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable

from app.config import Settings, get_settings
from app.logs import configure_logging

log = logging.getLogger("workers.ready")

CONNECT_TIMEOUT_SECONDS = 5


class NotReady(Exception):
    """A dependency does not answer yet (the message says which and why)."""


def check_database(settings: Settings) -> None:
    """The database accepts a connection and answers a query."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    url = settings.sqlalchemy_url
    postgres = url.startswith("postgres")
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if postgres else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise NotReady(f"database: {_first_line(exc)}") from exc
    finally:
        engine.dispose()


def check_schema(settings: Settings) -> None:
    """The database is at the migration head this code expects (`scribe migrate` has run)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from app.migrate import alembic_config

    expected = set(ScriptDirectory.from_config(alembic_config(settings)).get_heads())
    engine = create_engine(settings.sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        raise NotReady(f"database: {_first_line(exc)}") from exc
    finally:
        engine.dispose()
    if current != expected:
        raise NotReady(
            f"schema: database is at {sorted(current) or 'no revision'}, this code expects "
            f"{sorted(expected)}; run the migrate role (`scribe migrate`)"
        )


def check_broker(settings: Settings) -> None:
    """The Celery broker accepts a connection."""
    from kombu import Connection

    from app.celery_app import broker_transport, broker_transport_options

    url = settings.celery_broker_url
    with Connection(
        url,
        transport=broker_transport(settings),
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        transport_options=broker_transport_options(settings),
    ) as conn:
        try:
            conn.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_SECONDS)
        except Exception as exc:
            raise NotReady(f"broker: {_first_line(exc)}") from exc


CHECKS: dict[str, Callable[[Settings], None]] = {
    "database": check_database,
    "schema": check_schema,
    "broker": check_broker,
}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def wait_until_ready(
    settings: Settings, names: list[str], *, timeout: float, interval: float = 2.0
) -> None:
    """Run the named checks in order until all pass; raise NotReady after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    for name in names:
        check = CHECKS[name]
        announced = False
        while True:
            try:
                check(settings)
                break
            except NotReady as exc:
                if time.monotonic() >= deadline:
                    raise
                if not announced:
                    log.info("waiting for %s: %s", name, exc)
                    announced = True
            time.sleep(interval)
        log.info("%s is ready", name)


def main(argv: list[str] | None = None) -> int:
    """Command line: wait for the named dependencies."""
    parser = argparse.ArgumentParser(prog="python -m workers.ready", description=__doc__)
    parser.add_argument("checks", nargs="+", choices=sorted(CHECKS))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between tries")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per try is enough
    try:
        wait_until_ready(settings, args.checks, timeout=args.timeout, interval=args.interval)
    except NotReady as exc:
        print(f"not ready after {args.timeout:g} s: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
