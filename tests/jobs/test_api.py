"""The jobs API against real PostgreSQL and Redis: auth, tenancy, validation, listing, cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from app.errors import install_error_handlers
from app.limits import BodySizeLimitMiddleware
from tests.conftest import SHARED_DATA, upload

pytestmark = pytest.mark.integration

UNREACHABLE = "http://127.0.0.1:9/recording.wav"


def _url_job(client: TestClient, key: str, **options: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/transcribe", headers={"X-API-Key": key}, json={"url": UNREACHABLE, **options}
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_request_without_key_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/jobs")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"


def test_unknown_and_revoked_keys_are_401(client: TestClient, make_key: Any) -> None:
    from app.auth.service import revoke_key
    from app.db import session_scope

    assert client.get("/api/v1/jobs", headers={"X-API-Key": "sr_nope"}).status_code == 401
    key = make_key()
    assert client.get("/api/v1/jobs", headers={"X-API-Key": key}).status_code == 200
    with session_scope() as session:
        assert revoke_key(session, key_ref=key[:11]) is not None
    response = client.get("/api/v1/jobs", headers={"X-API-Key": key})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_keys_are_stored_hashed(make_key: Any) -> None:
    from sqlalchemy import select

    from app.db import session_scope
    from app.models import ApiKey

    key = make_key()
    with session_scope() as session:
        stored = session.scalars(select(ApiKey).where(ApiKey.prefix == key[:11])).one()
        assert stored.key_hash != key and key not in stored.key_hash
        assert len(stored.key_hash) == 64


def test_url_job_is_accepted_with_202_and_location(client: TestClient, api_key: str) -> None:
    response = client.post(
        "/api/v1/transcribe",
        headers={"X-API-Key": api_key},
        json={"url": UNREACHABLE, "diarize": True, "num_speakers": 2, "recording_id": "rec-1"},
    )
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert job["status"] in ("queued", "running", "failed")
    assert job["recording_id"] == "rec-1"
    assert job["options"]["diarize"] is True and job["options"]["model"] == "tiny.en"
    assert job["links"]["transcript"].endswith("/transcript")


def test_another_tenants_job_is_404(client: TestClient, make_key: Any) -> None:
    owner, stranger = make_key(), make_key()
    job = _url_job(client, owner)
    for method, path in [
        ("GET", f"/api/v1/jobs/{job['id']}"),
        ("GET", f"/api/v1/jobs/{job['id']}/transcript"),
        ("POST", f"/api/v1/jobs/{job['id']}/cancel"),
        ("DELETE", f"/api/v1/jobs/{job['id']}"),
    ]:
        response = client.request(method, path, headers={"X-API-Key": stranger})
        assert response.status_code == 404, (method, path, response.text)
    listed = client.get("/api/v1/jobs", headers={"X-API-Key": stranger}).json()
    assert listed["data"] == []
    assert client.get(f"/api/v1/jobs/{job['id']}", headers={"X-API-Key": owner}).status_code == 200


def test_keys_of_one_owner_share_jobs(client: TestClient, make_key: Any) -> None:
    first, second = make_key("acme"), make_key("acme")
    job = _url_job(client, first)
    assert client.get(f"/api/v1/jobs/{job['id']}", headers={"X-API-Key": second}).status_code == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"url": UNREACHABLE, "languag": "en"}, "languag"),
        ({"url": UNREACHABLE, "language": "klingon"}, "unknown language"),
        ({"url": UNREACHABLE, "num_speakers": 2}, "need diarize=true"),
        ({"url": UNREACHABLE, "diarize": True, "num_speakers": 2, "max_speakers": 3}, "either"),
        ({"url": UNREACHABLE, "diarize": True, "min_speakers": 4, "max_speakers": 2}, "larger"),
        ({"url": UNREACHABLE, "task": "summarise"}, "task"),
        ({"url": "ftp://example.com/a.wav"}, "scheme 'ftp' is not allowed"),
        ({"diarize": True}, "url"),
        ({"url": UNREACHABLE, "webhook_url": "not a url"}, "webhook_url"),
    ],
)
def test_invalid_options_are_422_with_a_message(
    client: TestClient, api_key: str, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/api/v1/transcribe", headers={"X-API-Key": api_key}, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert fragment in error["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"url": UNREACHABLE, "model": "large-v9"}, "not available"),
        ({"url": UNREACHABLE, "task": "translate"}, "English-only"),
        ({"url": UNREACHABLE, "language": "de"}, "English-only"),
        ({"url": UNREACHABLE, "diarize": True, "num_speakers": 50}, "at most"),
    ],
)
def test_options_this_deployment_cannot_serve_are_422(
    client: TestClient, api_key: str, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/api/v1/transcribe", headers={"X-API-Key": api_key}, json=body)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["error"]["message"]


def test_multilingual_model_accepts_translation(client: TestClient, api_key: str) -> None:
    job = _url_job(client, api_key, model="base", task="translate", language="de")
    assert job["options"]["model"] == "base" and job["options"]["task"] == "translate"


def test_bad_bodies_are_4xx(client: TestClient, api_key: str) -> None:
    headers = {"X-API-Key": api_key}
    response = client.post(
        "/api/v1/transcribe", headers={**headers, "content-type": "application/json"}, content="{"
    )
    assert response.status_code == 400
    response = client.post(
        "/api/v1/transcribe", headers={**headers, "content-type": "text/plain"}, content="hi"
    )
    assert response.status_code == 415
    response = client.post(
        "/api/v1/transcribe",
        headers=headers,
        data={"diarize": "true"},
        files={"other": ("a.txt", b"x")},
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "missing_file"
    response = client.post(
        "/api/v1/transcribe", headers=headers, files={"file": ("empty.wav", b"")}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "empty_file"
    assert client.get("/api/v1/jobs/not-a-uuid", headers=headers).status_code == 422


def test_multipart_upload_options_are_validated(client: TestClient, api_key: str) -> None:
    with (SHARED_DATA / "jfk.flac").open("rb") as fh:
        response = client.post(
            "/api/v1/transcribe",
            headers={"X-API-Key": api_key},
            files={"file": ("jfk.flac", fh)},
            data={"diarize": "maybe"},
        )
    assert response.status_code == 422
    assert "diarize" in response.json()["error"]["message"]


def test_upload_is_stored_with_its_name_and_size(client: TestClient, api_key: str) -> None:
    from app.storage import get_storage

    job = upload(client, api_key, SHARED_DATA / "jfk.flac", recording_id="jfk")
    assert job["input"] == {"filename": "jfk.flac", "size_bytes": 1152693, "url": None}
    stored = get_storage().get_bytes(f"jobs/{job['id']}/input")
    assert stored == (SHARED_DATA / "jfk.flac").read_bytes()
    client.delete(f"/api/v1/jobs/{job['id']}", headers={"X-API-Key": api_key})


def test_list_is_paginated_newest_first_and_filtered(client: TestClient, api_key: str) -> None:
    headers = {"X-API-Key": api_key}
    ids = [_url_job(client, api_key, recording_id=f"r{i}")["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/jobs", headers=headers, params=params).json()
        seen += [j["id"] for j in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    cancel = client.post(f"/api/v1/jobs/{ids[0]}/cancel", headers=headers)
    wanted = "canceled" if cancel.status_code == 200 else cancel.json()["error"]["code"]
    assert wanted in ("canceled", "job_finished")
    if wanted == "canceled":
        listed = client.get("/api/v1/jobs", headers=headers, params={"status": "canceled"}).json()
        assert [j["id"] for j in listed["data"]] == [ids[0]]
    bad = client.get("/api/v1/jobs", headers=headers, params={"cursor": "garbage!"})
    assert bad.status_code == 422
    assert client.get("/api/v1/jobs", headers=headers, params={"status": "nope"}).status_code == 422


def test_cancel_and_delete(client: TestClient, api_key: str) -> None:
    from app.storage import get_storage

    headers = {"X-API-Key": api_key}
    job = upload(client, api_key, SHARED_DATA / "jfk.flac")
    canceled = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=headers)
    if canceled.status_code == 409:  # a fast worker may have finished it already
        assert canceled.json()["error"]["code"] == "job_finished"
    else:
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        again = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=headers)
        assert again.status_code == 409
        transcript = client.get(f"/api/v1/jobs/{job['id']}/transcript", headers=headers)
        assert transcript.status_code == 409
    assert get_storage().exists(f"jobs/{job['id']}/input")
    assert client.delete(f"/api/v1/jobs/{job['id']}", headers=headers).status_code == 204
    assert not get_storage().exists(f"jobs/{job['id']}/input")
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/jobs/{job['id']}", headers=headers).status_code == 404


def test_openapi_docs_describe_both_bodies(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/transcribe"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)
    assert client.get("/docs").status_code == 200


def _echo_app(limit: int) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=limit)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    return app


def test_oversized_bodies_are_413(tmp_path: Path) -> None:
    client = TestClient(_echo_app(1000))
    assert client.post("/echo", content=b"x" * 1000).json() == {"size": 1000}
    response = client.post("/echo", content=b"x" * 1001)
    assert response.status_code == 413 and response.json()["error"]["code"] == "file_too_large"

    def chunks() -> Any:  # no Content-Length: counted while streaming
        for _ in range(20):
            yield b"y" * 100

    response = client.post("/echo", content=chunks())
    assert response.status_code == 413
