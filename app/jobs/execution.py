"""Running a job inside a worker: claim, work, artifacts, outcome; and the transcription work.

Every job kind goes through `run_claimed_job`: the conditional claim, a heartbeat that renews the
lease, writes progress and notices cancellation, and one conditional outcome. No database session
is held while models run. A kind only supplies its work: a function that reads its input, stores
its artifacts and returns the values to write with the job's success.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from app import __version__
from app.config import Settings, get_settings
from app.db import session_scope
from app.jobs import state
from app.jobs.errors import JobCanceled, JobError
from app.jobs.partial import PartialSegments, wants_partial_segments
from app.jobs.state import Claim
from app.ops.metrics import JobRecorder
from app.pipeline.errors import PipelineError
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


@dataclass(frozen=True)
class Finished:
    """What a job's work produced (artifacts already stored): the values to write with its
    success, and what the metrics count."""

    values: dict[str, Any]
    audio_seconds: float | None = None
    timings: Mapping[str, float] = field(default_factory=dict)


Work = Callable[[Claim, JobMonitor, Settings, Storage], Finished]

# Every format any job kind stores under artifact_key(); removed when a job stops unfinished.
ARTIFACT_FORMATS = ("json", "txt", "srt", "vtt", "rttm")


def _remove_artifacts(job_id: uuid.UUID, storage: Storage) -> None:
    for fmt in ARTIFACT_FORMATS:
        storage.delete_prefix(artifact_key(job_id, fmt))


def run_claimed_job(job_id: uuid.UUID, *, worker_id: str, kind: str, work: Work) -> str:
    """Claim a job, run its work under a heartbeat, and write its one outcome.

    Returns what happened (for logs and tests): succeeded, failed, canceled, released (handed
    back for another attempt after a transient error) or skipped (not ours to run).
    """
    settings = get_settings()
    storage = get_storage()
    with session_scope() as session:
        claim = state.claim_job(session, job_id=job_id, worker_id=worker_id, settings=settings)
    if claim is None:
        log.info("job %s not claimable (taken, ended or out of attempts)", job_id)
        return "skipped"
    log.info("job %s claimed (attempt %d)", job_id, claim.attempt)
    recorder = JobRecorder(kind)

    def fail(code: str, message: str) -> str:
        with session_scope() as session:
            state.fail_job(session, claim=claim, code=code, message=message)
        recorder.failed(code)
        log.info("job %s failed: %s (%s)", job_id, code, message)
        return "failed"

    def release(code: str, message: str) -> str:
        with session_scope() as session:
            state.release_job(session, claim=claim, code=code, message=message)
        recorder.ended("released")
        log.info("job %s handed back for another attempt: %s", job_id, message)
        return "released"

    with JobMonitor(claim, settings) as monitor:
        try:
            done = work(claim, monitor, settings, storage)
            with session_scope() as session:
                finished = state.finish_job(session, claim=claim, values=done.values)
            if not finished:  # canceled or deleted while we stored: leave nothing behind
                _remove_artifacts(job_id, storage)
                recorder.ended("canceled")
                log.info("job %s stopped: canceled, deleted or reclaimed", job_id)
                return "canceled"
            recorder.succeeded(audio_seconds=done.audio_seconds, timings=done.timings)
            log.info("job %s succeeded", job_id)
            return "succeeded"
        except JobCanceled:
            _remove_artifacts(job_id, storage)
            recorder.ended("canceled")
            log.info("job %s stopped: canceled, deleted or reclaimed", job_id)
            return "canceled"
        except SoftTimeLimitExceeded:
            return fail("timeout", f"The job ran longer than {settings.job_timeout_seconds} s.")
        except JobError as exc:
            if exc.transient and claim.attempt < settings.max_attempts:
                return release(exc.code, exc.message)
            return fail(exc.code, exc.message)
        except Exception as exc:
            log.exception("job %s attempt %d crashed", job_id, claim.attempt)
            message = f"{type(exc).__name__}: {exc}"
            if claim.attempt >= settings.max_attempts:
                return fail(
                    "internal_error",
                    f"Failed after {claim.attempt} attempts; last error: {message}",
                )
            return release("internal_error", message)


# --- Transcription -------------------------------------------------------------------------


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
        from app.inputs.fetch import fetch_input

        fetch_input(claim.input_url, target, settings=settings)
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


def _worker_version(result: dict[str, Any]) -> str:
    asr = result["models"]["asr"]
    return (
        f"scribe-rabbit {__version__}; faster-whisper {asr['version']}; "
        f"ctranslate2 {asr['ctranslate2']}; {asr['device']}/{asr['compute_type']}"
    )


def transcribe_job(
    claim: Claim, monitor: JobMonitor, settings: Settings, storage: Storage
) -> Finished:
    """The work of a transcription job: fetch the input, run the pipeline, store every format."""
    from app.pipeline.transcribe import transcribe_file

    with tempfile.TemporaryDirectory() as tmp:
        monitor.report("fetching", 0)
        path = _fetch_input(claim, Path(tmp), storage, settings)
        with ExitStack() as stack:
            partial = (  # segments for a client streaming this job (OpenAI stream=true)
                stack.enter_context(PartialSegments(claim.job_id, storage))
                if wants_partial_segments(claim.options)
                else None
            )
            result = transcribe_file(
                path,
                claim.options,
                settings=settings,
                progress=monitor.report,
                should_stop=monitor.check,
                job_id=str(claim.job_id),
                on_segment=partial.add if partial else None,
            )
    monitor.report("storing", 97)
    keys = _store_artifacts(result, claim.job_id, storage)
    return Finished(
        values={
            "result_keys": keys,
            "language": result["language"],
            "audio_duration": result["duration"],
            "timings": result["timings"],
            "asr_model": result["models"]["asr"]["name"],
            "diarization_model": (result["models"]["diarization"] or {}).get("name"),
            "worker_version": _worker_version(result),
        },
        audio_seconds=result["duration"],
        timings=result["timings"],
    )


def run_transcription(job_id: uuid.UUID, *, worker_id: str) -> str:
    """Run one transcription job to its outcome."""
    return run_claimed_job(job_id, worker_id=worker_id, kind="transcription", work=transcribe_job)
