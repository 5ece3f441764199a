"""/metrics behind a bearer token when METRICS_TOKEN is set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings


@pytest.fixture()
def token_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from app.main import app

    monkeypatch.setenv("METRICS_TOKEN", "s3cret-scrape")
    get_settings.cache_clear()
    try:
        yield TestClient(app)
    finally:
        monkeypatch.delenv("METRICS_TOKEN")
        get_settings.cache_clear()


def test_metrics_need_the_token_when_one_is_set(token_client: TestClient) -> None:
    refused = token_client.get("/metrics")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "metrics_token_required"
    wrong = token_client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = token_client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
    assert ok.status_code == 200 and "scribe_rabbit_jobs_active" in ok.text
    assert token_client.get("/health").status_code == 200  # probes stay open
