"""API processes for the OpenAI-compatible tests: uvicorn on the session's database and Redis,
so the session's real Celery worker runs their jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ops.conftest import ApiServer


@pytest.fixture(scope="session")
def openai_api(database: str) -> Iterator[ApiServer]:
    """The API with a wait long enough for a busy machine (a diarized job can take minutes)."""
    server = ApiServer("openai-api", {"OPENAI_WAIT_SECONDS": "1200"})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def impatient_api(database: str) -> Iterator[ApiServer]:
    """The API with a short wait, to see what a client gets when its job outlasts it."""
    server = ApiServer("impatient-api", {"OPENAI_WAIT_SECONDS": "15"})
    server.start()
    yield server
    server.stop()
