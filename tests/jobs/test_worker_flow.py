"""End to end through a real Celery worker: PostgreSQL, Redis, real ASR and diarization.

Also what must never happen: a lost job after a killed worker or a flushed Redis, a job that
runs after it was canceled, or a result written twice.
"""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pysrt
import pytest
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from tests.conftest import REDIS_URL, SHARED_DATA, TMP, CeleryProcess, upload, wait_for_job

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHRASE = "ask not what your country can do for you"


def _get(client: Any, key: str, path: str, **params: Any) -> Any:
    return client.get(path, headers={"X-API-Key": key}, params=params)


def _running(job: dict[str, Any], at_least: int = 15) -> bool:
    return job["status"] != "queued" and (job["progress"] >= at_least or job["status"] != "running")


def test_jfk_is_transcribed_end_to_end(client: Any, api_key: str, worker: CeleryProcess) -> None:
    job = upload(client, api_key, SHARED_DATA / "jfk.flac", recording_id="jfk-1")
    done = wait_for_job(client, api_key, job["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == 100 and done["attempts"] == 1 and done["error"] is None
    assert done["language"] == "en" and abs(done["audio_duration"] - 11.0) < 0.2
    assert done["models"]["asr"] == "tiny.en" and "faster-whisper" in done["models"]["worker"]
    assert done["timings"]["asr"] > 0

    result = _get(client, api_key, f"/api/v1/jobs/{job['id']}/transcript").json()
    assert PHRASE in result["text"].lower().replace(",", "")
    assert result["words"] and all(w["speaker"] is None for w in result["words"])
    assert result["models"]["asr"]["version"]
    txt = _get(client, api_key, f"/api/v1/jobs/{job['id']}/transcript", format="txt")
    assert txt.headers["content-type"].startswith("text/plain")
    assert PHRASE in txt.text.lower().replace(",", "")
    vtt = _get(client, api_key, f"/api/v1/jobs/{job['id']}/transcript", format="vtt")
    assert vtt.text.startswith("WEBVTT")
    rttm = _get(client, api_key, f"/api/v1/jobs/{job['id']}/transcript", format="rttm")
    assert rttm.status_code == 404 and "diarize=true" in rttm.json()["error"]["message"]


def test_pyannote_sample_gets_two_speakers_and_low_der(
    client: Any, api_key: str, worker: CeleryProcess, pyannote_sample: Path
) -> None:
    job = upload(client, api_key, pyannote_sample / "sample.wav", diarize=True)
    done = wait_for_job(client, api_key, job["id"], timeout=300)
    assert done["status"] == "succeeded", done
    assert done["models"]["diarization"] == "pyannote-seg3-campplus"

    result = _get(client, api_key, f"/api/v1/jobs/{job['id']}/transcript").json()
    assert [s["id"] for s in result["speakers"]] == ["SPEAKER_00", "SPEAKER_01"]
    assert all(w["speaker"] in ("SPEAKER_00", "SPEAKER_01") for w in result["words"])
    assert {s["speaker"] for s in result["segments"]} == {"SPEAKER_00", "SPEAKER_01"}

    rttm = _get(client, api_key, f"/api/v1/jobs/{job['id']}/transcript", format="rttm").text
    hyp_path = TMP / "hyp.rttm"
    hyp_path.write_text(rttm.replace(f" {job['id']} ", " sample "))
    reference = load_rttm(pyannote_sample / "sample.rttm")["sample"]
    hypothesis = load_rttm(hyp_path)["sample"]
    der = DiarizationErrorRate()(reference, hypothesis)
    assert der < 0.15, f"DER {der:.3f}"

    srt_text = _get(client, api_key, f"/api/v1/jobs/{job['id']}/transcript", format="srt").text
    subtitles = pysrt.from_string(srt_text)
    assert len(subtitles) == len(result["segments"]) > 5
    assert all(s.text.startswith(("[SPEAKER_00] ", "[SPEAKER_01] ")) for s in subtitles)


def test_upload_that_is_not_audio_fails_with_a_reason(
    client: Any, api_key: str, worker: CeleryProcess
) -> None:
    path = TMP / "notes.wav"
    path.write_text("these are meeting notes, not a recording\n" * 50)
    job = upload(client, api_key, path)
    done = wait_for_job(client, api_key, job["id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "invalid_media"
    assert "not a recognised audio or video format" in done["error"]["message"]
    assert "/tmp" not in done["error"]["message"]  # no worker paths in what the client sees
    result = _get(client, api_key, f"/api/v1/jobs/{job['id']}/transcript")
    assert result.status_code == 409 and result.json()["error"]["code"] == "no_transcript"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def test_video_without_audio_and_empty_audio_fail_clearly(
    client: Any, api_key: str, worker: CeleryProcess
) -> None:
    silent_video = TMP / "no-audio.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=duration=2:size=64x64:rate=5",
        "-c:v",
        "mpeg4",
        str(silent_video),
    )
    empty = TMP / "empty.wav"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "0", str(empty))
    expected = {"no_audio_stream": silent_video, "empty_audio": empty}
    jobs = {code: upload(client, api_key, path)["id"] for code, path in expected.items()}
    for code, job_id in jobs.items():
        done = wait_for_job(client, api_key, job_id)
        assert done["status"] == "failed" and done["error"]["code"] == code, done


def test_video_is_transcribed_from_its_audio(
    client: Any, api_key: str, worker: CeleryProcess
) -> None:
    video = TMP / "jfk.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=duration=11:size=64x64:rate=5",
        "-i",
        str(SHARED_DATA / "jfk.flac"),
        "-shortest",
        "-c:v",
        "mpeg4",
        "-c:a",
        "aac",
        str(video),
    )
    job = upload(client, api_key, video)
    done = wait_for_job(client, api_key, job["id"])
    assert done["status"] == "succeeded", done
    text = _get(client, api_key, f"/api/v1/jobs/{job['id']}/transcript", format="txt").text
    assert PHRASE in text.lower().replace(",", "")


@pytest.fixture()
def file_server() -> Iterator[str]:
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(SHARED_DATA))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_url_input_is_fetched_by_the_worker(
    client: Any, api_key: str, worker: CeleryProcess, file_server: str
) -> None:
    response = client.post(
        "/api/v1/transcribe",
        headers={"X-API-Key": api_key},
        json={"url": f"{file_server}/jfk.flac"},
    )
    assert response.status_code == 202
    done = wait_for_job(client, api_key, response.json()["id"])
    assert done["status"] == "succeeded", done
    missing = client.post(
        "/api/v1/transcribe",
        headers={"X-API-Key": api_key},
        json={"url": f"{file_server}/nothing-here.wav"},
    ).json()
    failed = wait_for_job(client, api_key, missing["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "input_unavailable"
    assert "404" in failed["error"]["message"]


def test_canceling_a_running_job_stops_it(
    client: Any, api_key: str, worker: CeleryProcess, pyannote_sample: Path
) -> None:
    from app.storage import get_storage

    job = upload(client, api_key, pyannote_sample / "sample.wav", diarize=True)
    running = wait_for_job(client, api_key, job["id"], until=_running)
    assert running["status"] == "running", running
    canceled = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers={"X-API-Key": api_key})
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    worker.wait_for_log(f"job {job['id']} stopped", timeout=60)
    final = _get(client, api_key, f"/api/v1/jobs/{job['id']}").json()
    assert final["status"] == "canceled" and final["error"]["code"] == "canceled"
    assert not get_storage().exists(f"jobs/{job['id']}/result.json")


def test_job_canceled_while_queued_never_runs(
    client: Any, api_key: str, worker: CeleryProcess, pyannote_sample: Path
) -> None:
    busy = upload(client, api_key, pyannote_sample / "sample.wav", diarize=True)
    queued = upload(client, api_key, SHARED_DATA / "jfk.flac")
    response = client.post(f"/api/v1/jobs/{queued['id']}/cancel", headers={"X-API-Key": api_key})
    assert response.status_code == 200
    wait_for_job(client, api_key, busy["id"], timeout=300)
    worker.wait_for_log(f"job {queued['id']} not claimable", timeout=60)
    final = _get(client, api_key, f"/api/v1/jobs/{queued['id']}").json()
    assert final["status"] == "canceled" and final["attempts"] == 0 and final["started_at"] is None


def _succeeded_lines(worker: CeleryProcess, job_id: str) -> int:
    return worker.log().count(f"job {job_id} succeeded")


def test_sigkill_of_the_pool_child_mid_job_still_succeeds_once(
    client: Any, api_key: str, worker: CeleryProcess, beat: CeleryProcess, pyannote_sample: Path
) -> None:
    job = upload(client, api_key, pyannote_sample / "sample.wav", diarize=True)
    running = wait_for_job(client, api_key, job["id"], until=_running)
    assert running["status"] == "running", running
    children = worker.children()
    assert children, "the worker has no pool child"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    done = wait_for_job(client, api_key, job["id"], timeout=300)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2
    time.sleep(2)  # let any duplicate delivery arrive and be refused
    assert _succeeded_lines(worker, job["id"]) == 1


def test_worker_killed_and_replaced_finishes_the_job(
    client: Any, api_key: str, worker: CeleryProcess, beat: CeleryProcess, pyannote_sample: Path
) -> None:
    job = upload(client, api_key, pyannote_sample / "sample.wav", diarize=True)
    running = wait_for_job(client, api_key, job["id"], until=_running)
    assert running["status"] == "running", running
    worker.kill()
    worker.start()  # the orchestrator's replacement
    done = wait_for_job(client, api_key, job["id"], timeout=300)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2 and "worker_lost" not in str(done["error"])
    assert _succeeded_lines(worker, job["id"]) == 1


def test_queued_jobs_survive_flushall(
    client: Any, api_key: str, worker: CeleryProcess, beat: CeleryProcess
) -> None:
    import redis

    worker.stop()
    try:
        jobs = [upload(client, api_key, SHARED_DATA / "jfk.flac") for _ in range(2)]
        redis.Redis.from_url(REDIS_URL).flushall()
    finally:
        worker.start()
    for job in jobs:
        done = wait_for_job(client, api_key, job["id"], timeout=180)
        assert done["status"] == "succeeded", done
        assert done["attempts"] == 1
