"""Direct uploads, URL-input refusals, download links and retention through the API, on the
local backend (the in-process API, a real worker, PostgreSQL and Redis)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from app.models import utcnow
from tests.conftest import SHARED_DATA, CeleryProcess, upload, wait_for_job

pytestmark = pytest.mark.integration

PHRASE = "ask not what your country can do for you"


def _h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def _new_upload(client: Any, key: str, **body: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/uploads", headers=_h(key), json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_direct_upload_on_local_storage_becomes_a_job(
    client: Any, api_key: str, make_key: Any, worker: CeleryProcess
) -> None:
    created = _new_upload(client, api_key, filename="jfk.flac")
    assert created["needs_api_key"] is True and created["method"] == "PUT"
    assert created["upload_url"].endswith(f"/api/v1/uploads/{created['upload_id']}")
    path = created["upload_url"].split("testserver", 1)[1]

    early = client.post(
        "/api/v1/transcribe", headers=_h(api_key), json={"upload_id": created["upload_id"]}
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "upload_not_received"

    assert client.put(path, content=b"x").status_code == 401  # the API key is required
    stranger = make_key()
    assert client.put(path, headers=_h(stranger), content=b"x").status_code == 404

    data = (SHARED_DATA / "jfk.flac").read_bytes()
    put = client.put(path, headers=_h(api_key), content=data)
    assert put.status_code == 200, put.text
    assert put.json()["size_bytes"] == len(data)

    job = client.post(
        "/api/v1/transcribe",
        headers=_h(api_key),
        json={"upload_id": created["upload_id"], "retention": "P2D"},
    )
    assert job.status_code == 202, job.text
    body = job.json()
    assert body["input"] == {"filename": "jfk.flac", "size_bytes": len(data), "url": None}

    again = client.post(
        "/api/v1/transcribe", headers=_h(api_key), json={"upload_id": created["upload_id"]}
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "upload_used"

    done = wait_for_job(client, api_key, body["id"])
    assert done["status"] == "succeeded", done
    assert done["expires_at"] is not None
    finished = done["finished_at"].replace("Z", "+00:00")
    from datetime import datetime

    assert datetime.fromisoformat(done["expires_at"]) - datetime.fromisoformat(
        finished
    ) == timedelta(days=2)

    link = client.get(
        f"/api/v1/jobs/{body['id']}/transcript/url", headers=_h(api_key), params={"format": "txt"}
    )
    assert link.status_code == 200 and link.json()["needs_api_key"] is True
    own = link.json()["url"].split("testserver", 1)[1]
    text = client.get(own, headers=_h(api_key)).text
    assert PHRASE in text.lower().replace(",", "")


def test_upload_refusals(client: Any, api_key: str) -> None:
    from app.config import get_settings

    limit = get_settings().max_upload_bytes
    too_big = client.post("/api/v1/uploads", headers=_h(api_key), json={"size_bytes": limit + 1})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "file_too_large"
    bad = client.post("/api/v1/uploads", headers=_h(api_key), json={"content_type": "audio wav"})
    assert bad.status_code == 422
    unknown = client.post(
        "/api/v1/transcribe", headers=_h(api_key), json={"upload_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 404
    both = client.post(
        "/api/v1/transcribe",
        headers=_h(api_key),
        json={"upload_id": str(uuid.uuid4()), "url": "https://example.com/a.wav"},
    )
    assert both.status_code == 422 and "exactly one" in both.json()["error"]["message"]

    created = _new_upload(client, api_key)
    path = f"/api/v1/uploads/{created['upload_id']}"
    assert client.put(path, headers=_h(api_key), content=b"").status_code == 200
    empty = client.post(
        "/api/v1/transcribe", headers=_h(api_key), json={"upload_id": created["upload_id"]}
    )
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_file"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8080/a.wav", "loopback"),
        ("http://[::ffff:127.0.0.1]/a.wav", "IPv4-mapped"),
        ("http://10.0.0.1/a.wav", "private"),
        ("http://0.0.0.0/a.wav", "unspecified"),
        ("http://[fd00:ec2::254]/", "private"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://127.0.0.1/_", "scheme 'gopher'"),
        ("ftp://example.com/a.wav", "scheme 'ftp'"),
        ("s3://someone-elses-bucket/a.wav", "not open to URL inputs"),
        ("gs://someone-elses-bucket/a.wav", "not open to URL inputs"),
        ("s3://x/", "not a valid"),
    ],
)
def test_url_inputs_the_worker_may_not_read_are_refused_at_once(
    client: Any, api_key: str, url: str, words: str
) -> None:
    answer = client.post("/api/v1/transcribe", headers=_h(api_key), json={"url": url})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "url_not_allowed" and words in error["message"], error


def test_option_checks(client: Any, api_key: str) -> None:
    def post(**options: Any) -> Any:
        return client.post(
            "/api/v1/transcribe",
            headers=_h(api_key),
            json={"url": "https://93.184.215.14/a.wav", **options},
        )

    assert post(retention="PT30S").status_code == 422
    assert "at most 365 days" in post(retention="P400D").json()["error"]["message"]
    assert "split_channels" in post(split_channels=True, diarize=True).json()["error"]["message"]


def test_retention_purges_inputs_and_results(
    client: Any, api_key: str, worker: CeleryProcess
) -> None:
    from app.config import get_settings
    from app.jobs.retention import purge_expired
    from app.storage import get_storage

    storage = get_storage()
    kept = upload(client, api_key, SHARED_DATA / "jfk.flac")  # the server's 30-day default
    short = upload(client, api_key, SHARED_DATA / "jfk.flac", retention="PT1H")
    for job in (kept, short):
        assert wait_for_job(client, api_key, job["id"])["status"] == "succeeded"
    assert storage.exists(f"jobs/{short['id']}/input")
    assert storage.exists(f"jobs/{short['id']}/result.json")

    purge_expired(settings=get_settings(), storage=storage)  # nothing is due yet
    assert storage.exists(f"jobs/{short['id']}/result.json")

    purge_expired(settings=get_settings(), storage=storage, now=utcnow() + timedelta(hours=2))
    assert not storage.exists(f"jobs/{short['id']}/input")
    assert not storage.exists(f"jobs/{short['id']}/result.json")
    assert storage.exists(f"jobs/{kept['id']}/result.json")
    job = client.get(f"/api/v1/jobs/{short['id']}", headers=_h(api_key)).json()
    assert job["status"] == "succeeded" and job["purged_at"] is not None
    gone = client.get(f"/api/v1/jobs/{short['id']}/transcript", headers=_h(api_key))
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "purged"


def test_delete_removes_everything(client: Any, api_key: str, worker: CeleryProcess) -> None:
    from app.storage import get_storage

    job = upload(client, api_key, SHARED_DATA / "jfk.flac")
    assert wait_for_job(client, api_key, job["id"])["status"] == "succeeded"
    storage = get_storage()
    assert storage.exists(f"jobs/{job['id']}/input")
    assert client.delete(f"/api/v1/jobs/{job['id']}", headers=_h(api_key)).status_code == 204
    assert storage.size(f"jobs/{job['id']}/input") is None
    assert not storage.exists(f"jobs/{job['id']}/result.json")
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=_h(api_key)).status_code == 404


def test_an_unused_upload_expires_and_its_object_is_removed(client: Any, api_key: str) -> None:
    from app.config import get_settings
    from app.jobs.retention import purge_expired
    from app.storage import get_storage

    created = _new_upload(client, api_key)
    path = f"/api/v1/uploads/{created['upload_id']}"
    assert client.put(path, headers=_h(api_key), content=b"RIFF....").status_code == 200
    storage = get_storage()
    from app.db import session_scope
    from app.models import Upload

    with session_scope() as session:
        upload = session.get(Upload, uuid.UUID(created["upload_id"]))
        assert upload is not None
        key = upload.storage_key
    assert storage.exists(key)
    later = (
        utcnow()
        + timedelta(seconds=get_settings().presigned_url_expires_seconds)
        + timedelta(hours=2)
    )
    report = purge_expired(settings=get_settings(), storage=storage, now=later)
    assert report.uploads_expired >= 1
    assert not storage.exists(key)
    late = client.post(
        "/api/v1/transcribe", headers=_h(api_key), json={"upload_id": created["upload_id"]}
    )
    assert late.status_code == 410 and late.json()["error"]["code"] == "upload_expired"
