"""Probes: /health, /ready, /startup on a healthy API, and on APIs whose database or broker is dead.

The shared PostgreSQL server stays up: a second API process is pointed at a port where nothing
listens, which is what an API sees when its database host is gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.ops.conftest import ApiServer, scrape, value

pytestmark = pytest.mark.integration


def test_healthy_api_is_alive_ready_and_started(client: Any) -> None:
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.headers["x-request-id"]
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    components = ready.json()["components"]
    assert set(components) == {"database", "broker", "storage"}
    assert all(c["status"] == "up" for c in components.values())
    startup = client.get("/startup")
    assert startup.status_code == 200 and startup.json()["status"] == "started"


@pytest.fixture(scope="module")
def api_without_database(database: str) -> Iterator[ApiServer]:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/scribe"
    server = ApiServer(
        "api-dead-db", {"DATABASE_URL": dead, "DATABASE_CONNECT_TIMEOUT_SECONDS": "2"}
    )
    server.start()
    yield server
    server.stop()


def test_dead_database_is_named_by_ready_while_health_stays_up(
    api_without_database: ApiServer,
) -> None:
    base = api_without_database.url
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    ready = httpx.get(f"{base}/ready", timeout=10)
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["components"]["database"]["status"] == "down"
    assert "Connection refused" in body["components"]["database"]["error"]
    assert body["components"]["broker"]["status"] == "up"
    assert body["components"]["storage"]["status"] == "up"
    assert body["error"]["code"] == "not_ready"
    assert body["error"]["message"].startswith("database unavailable")
    assert ready.headers["retry-after"]
    startup = httpx.get(f"{base}/startup", timeout=10)
    assert startup.status_code == 503
    assert "database is unreachable" in startup.json()["error"]["message"]


def test_api_calls_answer_503_with_a_message_when_the_database_is_dead(
    api_without_database: ApiServer,
) -> None:
    base = api_without_database.url
    headers = {"X-API-Key": "sr_anything"}
    calls = [
        ("GET", "/api/v1/jobs", {}),
        ("GET", "/api/v1/jobs/00000000-0000-0000-0000-000000000000", {}),
        ("POST", "/api/v1/transcribe", {"json": {"url": "http://127.0.0.1:9/a.wav"}}),
        ("GET", "/api/v1/jobs/00000000-0000-0000-0000-000000000000/events", {}),
    ]
    for method, path, extra in calls:
        response = httpx.request(method, f"{base}{path}", headers=headers, timeout=10, **extra)
        assert response.status_code == 503, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "database_unavailable"
        assert error["message"] == "The database is unavailable; try again shortly."
        assert response.headers["retry-after"] == "5"
    assert "Traceback" not in api_without_database.log()  # refused cleanly, not crashed


def test_metrics_still_answer_and_report_the_database_down(
    api_without_database: ApiServer,
) -> None:
    response = httpx.get(f"{api_without_database.url}/metrics", timeout=10)
    assert response.status_code == 200
    samples = scrape(response.text)
    assert value(samples, "scribe_rabbit_component_up", component="database") == 0
    assert value(samples, "scribe_rabbit_component_up", component="broker") == 1
    # Queue depth comes from the broker, which is up.
    assert ("scribe_rabbit_queue_depth", frozenset({("queue", "transcribe")})) in samples


def test_dead_broker_is_named_by_ready(database: str) -> None:
    server = ApiServer("api-dead-broker", {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    server.start()
    try:
        ready = httpx.get(f"{server.url}/ready", timeout=10)
        assert ready.status_code == 503
        components = ready.json()["components"]
        assert components["broker"]["status"] == "down"
        assert components["database"]["status"] == "up"
        assert ready.json()["error"]["message"].startswith("broker unavailable")
    finally:
        server.stop()


def test_dropped_database_connections_are_replaced(client: Any, api_key: str) -> None:
    """The server closing the API's connections (a restart, a failover) costs no request."""
    from sqlalchemy import create_engine, text

    from tests.conftest import ADMIN_URL, DB_NAME

    assert client.get("/api/v1/jobs", headers={"X-API-Key": api_key}).status_code == 200
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": DB_NAME},
        ).scalar()
    admin.dispose()
    assert killed and killed > 0
    response = client.get("/api/v1/jobs", headers={"X-API-Key": api_key})
    assert response.status_code == 200, response.text
    assert client.get("/ready").status_code == 200
