"""Running one transcription job inside a worker: claim, fetch, pipeline, artifacts, outcome.

No database session is held while models run: the claim reads what the job needs, a heartbeat
thread renews the lease and writes progress in short sessions, and the outcome is one short
transaction at the end.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from app import __version__
from app.config import Settings, get_settings
from app.db import session_scope
from app.jobs import state
from app.jobs.state import Claim
from app.ops.metrics import JobRecorder
from app.pipeline.errors import JobCanceled, PipelineError
from app.storage import ObjectNotFound, Storage, artifact_key, get_storage

log = logging.getLogger(__name__)


class JobMonitor:
    """Heartbeat for a claimed job: renews the lease, records progress, notices cancellation."""

    def __init__(self, claim: Claim, settings: Settings) -> None:
        self.claim = claim
        self.settings = settings
        self.stage: str | None = "starting"
        self.progress = 0
        self._lost = threading.Event()
        self._done = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{claim.job_id}", daemon=True
        )

    def __enter__(self) -> JobMonitor:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def report(self, stage: str, progress: int) -> None:
        """Record progress (monotonic); a new stage is written at once."""
        progress = max(self.progress, min(99, int(progress)))
        new_stage = stage != self.stage
        self.stage, self.progress = stage, progress
        if new_stage:
            self._wake.set()

    def check(self) -> None:
        """Raise JobCanceled once the job is no longer ours (canceled, deleted or reclaimed)."""
        if self._lost.is_set():
            raise JobCanceled(str(self.claim.job_id))

    def _beat(self) -> None:
        try:
            with session_scope() as session:
                owned = state.renew_lease(
                    session,
                    claim=self.claim,
                    settings=self.settings,
                    stage=self.stage,
                    progress=self.progress,
                )
        except Exception as exc:  # a database blip must not kill the job; the lease has slack
            log.warning("heartbeat of job %s failed: %s", self.claim.job_id, exc)
            return
        if not owned:
            self._lost.set()

    def _run(self) -> None:
        interval = self.settings.heartbeat_seconds
        while not self._done.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._done.is_set():
                return
            self._beat()
            # Stage changes are written at once but no more than a few times a second.
            time.sleep(0.2)


def _fetch_input(claim: Claim, workdir: Path, storage: Storage, settings: Settings) -> Path:
    target = workdir / "input"
    if claim.input_key:
        try:
            storage.download(claim.input_key, target)
        except ObjectNotFound:
            raise PipelineError(
                "input_missing", "The uploaded recording is no longer stored."
            ) from None
        return target
    if claim.input_url:
        from app.inputs.fetch import fetch_url

        fetch_url(claim.input_url, target, settings=settings)
        return target
    raise PipelineError("input_missing", "The job has no input.")


def _store_artifacts(result: dict[str, Any], job_id: uuid.UUID, storage: Storage) -> dict[str, str]:
    from app.pipeline.formats import render_all

    keys: dict[str, str] = {}
    media_types = {"json": "application/json", "vtt": "text/vtt", "srt": "application/x-subrip"}
    for fmt, text in render_all(result).items():
        key = artifact_key(job_id, fmt)
        storage.put_bytes(
            key, text.encode("utf-8"), content_type=media_types.get(fmt, "text/plain")
        )
        keys[fmt] = key
    return keys


def _remove_artifacts(job_id: uuid.UUID, storage: Storage) -> None:
    for fmt in ("json", "txt", "srt", "vtt", "rttm"):
        storage.delete_prefix(artifact_key(job_id, fmt))


def _worker_version(result: dict[str, Any]) -> str:
    asr = result["models"]["asr"]
    return (
        f"scribe-rabbit {__version__}; faster-whisper {asr['version']}; "
        f"ctranslate2 {asr['ctranslate2']}; {asr['device']}/{asr['compute_type']}"
    )


def run_transcription(job_id: uuid.UUID, *, worker_id: str) -> str:
    """Run one job to its outcome; returns what happened (for logs and tests)."""
    settings = get_settings()
    storage = get_storage()
    with session_scope() as session:
        claim = state.claim_job(session, job_id=job_id, worker_id=worker_id, settings=settings)
    if claim is None:
        log.info("job %s not claimable (taken, ended or out of attempts)", job_id)
        return "skipped"
    log.info("job %s claimed (attempt %d)", job_id, claim.attempt)
    recorder = JobRecorder("transcription")

    with JobMonitor(claim, settings) as monitor, tempfile.TemporaryDirectory() as tmp:
        try:
            from app.pipeline.transcribe import transcribe_file

            monitor.report("fetching", 0)
            path = _fetch_input(claim, Path(tmp), storage, settings)
            result = transcribe_file(
                path,
                claim.options,
                settings=settings,
                progress=monitor.report,
                should_stop=monitor.check,
                job_id=str(job_id),
                recording_id=None,
            )
            monitor.report("storing", 97)
            keys = _store_artifacts(result, job_id, storage)
            with session_scope() as session:
                finished = state.finish_job(
                    session,
                    claim=claim,
                    values={
                        "result_keys": keys,
                        "language": result["language"],
                        "audio_duration": result["duration"],
                        "timings": result["timings"],
                        "asr_model": result["models"]["asr"]["name"],
                        "diarization_model": (result["models"]["diarization"] or {}).get("name"),
                        "worker_version": _worker_version(result),
                    },
                )
            if not finished:  # canceled or deleted while we stored: leave nothing behind
                _remove_artifacts(job_id, storage)
                recorder.ended("canceled")
                return "canceled"
            recorder.succeeded(audio_seconds=result["duration"], timings=result["timings"])
            log.info("job %s succeeded", job_id)
            return "succeeded"
        except JobCanceled:
            _remove_artifacts(job_id, storage)
            recorder.ended("canceled")
            log.info("job %s stopped: canceled, deleted or reclaimed", job_id)
            return "canceled"
        except SoftTimeLimitExceeded:
            with session_scope() as session:
                state.fail_job(
                    session,
                    claim=claim,
                    code="timeout",
                    message=f"The job ran longer than {settings.job_timeout_seconds} s.",
                )
            recorder.failed("timeout")
            return "failed"
        except PipelineError as exc:
            with session_scope() as session:
                state.fail_job(session, claim=claim, code=exc.code, message=exc.message)
            recorder.failed(exc.code)
            log.info("job %s failed: %s (%s)", job_id, exc.code, exc.message)
            return "failed"
        except Exception as exc:
            log.exception("job %s attempt %d crashed", job_id, claim.attempt)
            message = f"{type(exc).__name__}: {exc}"
            with session_scope() as session:
                if claim.attempt >= settings.max_attempts:
                    state.fail_job(
                        session,
                        claim=claim,
                        code="internal_error",
                        message=f"Failed after {claim.attempt} attempts; last error: {message}",
                    )
                    recorder.failed("internal_error")
                    return "failed"
                state.release_job(session, claim=claim, code="internal_error", message=message)
            recorder.ended("released")
            return "released"
