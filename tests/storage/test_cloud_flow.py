"""The whole way through on S3 (moto's server) and on GCS (gcp-storage-emulator): a presigned
direct upload, a job run on it by a real worker, results in the bucket, a presigned download,
an s3:// / gs:// input, DELETE, and the retention purge by beat.

The API, worker and beat run as separate processes configured only by environment variables,
and every storage call is the real boto3 or google-cloud-storage client over HTTP.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.conftest import SHARED_DATA, TMP, ServiceStack
from tests.storage.test_backends import create_bucket, raw_keys

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHRASE = "ask not what your country can do for you"
PREFIX = "scribe"
INPUTS = "customer-recordings"


class Cloud:
    """One backend's stack and the operator's view of its buckets."""

    def __init__(self, backend: str, stack: ServiceStack, settings: Settings) -> None:
        self.backend = backend
        self.stack = stack
        self.settings = settings  # the same storage settings the stack runs with
        self.key = stack.make_key()
        self.scheme = "s3" if backend == "s3" else "gs"

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-Key": self.key, **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.stack.url}{path}", headers=headers, **kwargs)

    def wait(
        self, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 180
    ) -> Any:
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = self.api("GET", f"/api/v1/jobs/{job_id}").json()
            if until(job):
                return job
            time.sleep(0.3)
        raise AssertionError(f"{job_id} did not get there: {job}\n{self.stack.logs()}")

    def finished(self, job_id: str) -> Any:
        return self.wait(job_id, lambda j: j["status"] in ("succeeded", "failed", "canceled"))

    def job_keys(self, job_id: str) -> list[str]:
        return [k for k in raw_keys(self.settings) if f"/jobs/{job_id}/" in f"/{k}"]

    def put_input(self, name: str, data: bytes) -> None:
        """Put a customer's recording in their own bucket, with the backend's client."""
        if self.backend == "s3":
            from app.storage.s3 import make_client

            make_client(self.settings).put_object(Bucket=INPUTS, Key=name, Body=data)
        else:
            from app.storage.gcs import make_client as make_gcs_client

            make_gcs_client(self.settings).bucket(INPUTS).blob(name).upload_from_string(data)


def _storage_env(backend: str, request: pytest.FixtureRequest, bucket: str) -> dict[str, str]:
    common = {
        "STORAGE_BACKEND": backend,
        "STORAGE_BUCKET": bucket,
        "STORAGE_PREFIX": PREFIX,
        "INPUT_BUCKETS": INPUTS,
        # Jobs without a retention option expire three seconds after they end.
        "RETENTION_DAYS": str(3 / 86400),
        "RETENTION_INTERVAL_SECONDS": "1",
    }
    if backend == "s3":
        return {
            **common,
            "S3_ENDPOINT_URL": request.getfixturevalue("moto_server"),
            "S3_ADDRESSING_STYLE": "path",
        }
    return {
        **common,
        "STORAGE_EMULATOR_HOST": request.getfixturevalue("gcs_emulator"),
        "GCS_CREDENTIALS_FILE": str(request.getfixturevalue("gcs_key_file")),
    }


@pytest.fixture(scope="module", params=["s3", "gcs"])
def cloud(request: pytest.FixtureRequest) -> Iterator[Cloud]:
    backend = request.param
    bucket = f"scribe-{backend}-{uuid.uuid4().hex[:8]}"
    env = _storage_env(backend, request, bucket)
    settings = Settings(**{k.lower(): v for k, v in env.items()})
    create_bucket(settings)
    create_bucket(Settings(**{**settings.model_dump(), "storage_bucket": INPUTS}))
    stack = ServiceStack(backend, env, worker=True, beat=True)
    yield Cloud(backend, stack, settings)
    stack.stop()


@pytest.fixture(scope="module")
def video() -> Path:
    """The JFK speech as the audio track of a small MP4 video."""
    path = TMP / "jfk-video.mp4"
    if not path.exists():
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i"]
            + ["testsrc=duration=11:size=64x64:rate=5", "-i", str(SHARED_DATA / "jfk.flac")]
            + ["-shortest", "-c:v", "mpeg4", "-c:a", "aac", str(path)],
            check=True,
        )
    return path


def test_presigned_upload_job_download_and_delete(cloud: Cloud, video: Path) -> None:
    created = cloud.api(
        "POST", "/api/v1/uploads", json={"filename": "town-hall.mp4", "content_type": "video/mp4"}
    )
    assert created.status_code == 201, created.text
    upload = created.json()
    assert upload["needs_api_key"] is False
    assert upload["upload_url"].startswith(("http://127.0.0.1:",))  # straight to the store
    put = httpx.put(upload["upload_url"], content=video.read_bytes(), headers=upload["headers"])
    assert put.status_code == 200, put.text

    answer = cloud.api(
        "POST", "/api/v1/transcribe", json={"upload_id": upload["upload_id"], "retention": "P1D"}
    )
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    done = cloud.finished(job_id)
    assert done["status"] == "succeeded", done
    assert done["input"]["filename"] == "town-hall.mp4"

    keys = cloud.job_keys(job_id)
    assert keys == sorted(
        f"{PREFIX}/jobs/{job_id}/{name}"
        for name in ("input", "result.json", "result.srt", "result.txt", "result.vtt")
    )

    link = cloud.api("GET", f"/api/v1/jobs/{job_id}/transcript/url", params={"format": "srt"})
    assert link.status_code == 200 and link.json()["needs_api_key"] is False
    srt = httpx.get(link.json()["url"])  # no API key: the URL carries its own signature
    assert srt.status_code == 200 and PHRASE in srt.text.lower().replace(",", "")
    assert f'filename="{job_id}.srt"' in srt.headers["content-disposition"]

    # Playback: the store serves the recording itself, through a presigned link.
    audio = cloud.api("GET", f"/api/v1/jobs/{job_id}/audio/url")
    assert audio.status_code == 200, audio.text
    assert audio.json()["media_type"] == "video/mp4"
    assert not audio.json()["url"].startswith(cloud.stack.url)
    played = httpx.get(audio.json()["url"])  # no API key
    assert played.status_code == 200 and played.content == video.read_bytes()
    moved = cloud.api("GET", f"/api/v1/jobs/{job_id}/audio")
    assert moved.status_code == 307 and not moved.headers["location"].startswith(cloud.stack.url)

    assert cloud.api("DELETE", f"/api/v1/jobs/{job_id}").status_code == 204
    assert cloud.job_keys(job_id) == []
    assert cloud.api("GET", f"/api/v1/jobs/{job_id}").status_code == 404


def test_object_url_input_with_the_services_credentials(cloud: Cloud) -> None:
    cloud.put_input("calls/2026/stereo.wav", (SHARED_DATA / "stereo_diarization.wav").read_bytes())
    url = f"{cloud.scheme}://{INPUTS}/calls/2026/stereo.wav"
    answer = cloud.api(
        "POST", "/api/v1/transcribe", json={"url": url, "split_channels": True, "retention": "P1D"}
    )
    assert answer.status_code == 202, answer.text
    done = cloud.finished(answer.json()["id"])
    assert done["status"] == "succeeded", done
    result = cloud.api("GET", f"/api/v1/jobs/{done['id']}/transcript").json()
    by_channel = {
        s["speaker"]: s["text"] for s in result["segments"]
    }  # one segment per channel here
    assert "horizon seems extremely distant" in by_channel["CHANNEL_01"].lower()
    assert "confused complaint against the wizard" in by_channel["CHANNEL_00"].lower()

    missing = cloud.api("POST", "/api/v1/transcribe", json={"url": f"{url}.missing"}).json()
    failed = cloud.finished(missing["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "input_unavailable"
    own = f"{cloud.scheme}://{cloud.settings.storage_bucket}/{PREFIX}/jobs/{done['id']}/input"
    refused = cloud.api("POST", "/api/v1/transcribe", json={"url": own})
    assert refused.status_code == 422 and "own storage bucket" in refused.text


def test_retention_purges_the_bucket_and_marks_the_job(cloud: Cloud) -> None:
    created = cloud.api("POST", "/api/v1/uploads", json={}).json()
    body = (SHARED_DATA / "jfk.flac").read_bytes()
    assert httpx.put(created["upload_url"], content=body, headers=created["headers"]).is_success
    job_id = cloud.api(
        "POST", "/api/v1/transcribe", json={"upload_id": created["upload_id"]}
    ).json()["id"]
    done = cloud.finished(job_id)
    assert done["status"] == "succeeded", done
    assert done["expires_at"] is not None
    assert f"{PREFIX}/jobs/{job_id}/result.json" in cloud.job_keys(job_id)

    purged = cloud.wait(job_id, lambda j: j["purged_at"] is not None, timeout=60)
    assert purged["status"] == "succeeded"
    assert cloud.job_keys(job_id) == []
    gone = cloud.api("GET", f"/api/v1/jobs/{job_id}/transcript")
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "purged"
