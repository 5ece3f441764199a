"""Running one enhancement job inside a worker: claim, read the transcript, enhance, store.

It reuses the job machinery of step one: the conditional claim, the lease that a heartbeat
renews (and that tells the worker when the job was canceled), and the conditional outcome.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from app import __version__
from app.config import Settings
from app.db import session_scope
from app.enhance.providers.base import Enhancement, EnhancementError, EnhancementRequest
from app.enhance.service import KIND
from app.enhance.transcript import Transcript, parse_transcript
from app.jobs.execution import Finished, JobMonitor, run_claimed_job
from app.jobs.state import Claim
from app.models import Job, JobStatus
from app.storage import ObjectNotFound, Storage, artifact_key

log = logging.getLogger(__name__)


def load_transcript(source_id: str, storage: Storage) -> Transcript:
    """The stored transcript of the transcription job the enhancement was asked for."""
    with session_scope() as session:
        source = session.get(Job, uuid.UUID(source_id))
        key = None
        if source is not None and source.deleted_at is None:
            if source.status == JobStatus.SUCCEEDED:
                key = source.result_keys.get("json")
    if key is None:
        raise EnhancementError("input_missing", "The transcription job's transcript is gone.")
    try:
        result = json.loads(storage.get_bytes(key))
    except ObjectNotFound:
        raise EnhancementError(
            "input_missing", "The transcription job's transcript is no longer stored."
        ) from None
    transcript = parse_transcript(result, job_id=source_id)
    if not transcript.segments:
        raise EnhancementError("empty_transcript", "The transcript has no speech to enhance.")
    return transcript


def render_result(
    job_id: uuid.UUID, transcript: Transcript, enhancement: Enhancement, seconds: float
) -> dict[str, Any]:
    """The JSON result: summary, key points, entities and the speaker turns they point into."""
    return {
        "job_id": str(job_id),
        "transcription_job_id": transcript.job_id,
        "language": transcript.language,
        "summary": enhancement.summary,
        "key_points": [
            {
                "text": p.text,
                "start": p.start,
                "end": p.end,
                "speaker": p.speaker,
                "segment_ids": p.segment_ids,
            }
            for p in enhancement.key_points
        ],
        "entities": [
            {
                "text": e.text,
                "type": e.type,
                "count": len(e.occurrences),
                "occurrences": [
                    {
                        "segment_id": o.segment_id,
                        "start": o.start,
                        "end": o.end,
                        "speaker": o.speaker,
                        "text": o.text,
                    }
                    for o in e.occurrences
                ],
            }
            for e in enhancement.entities
        ],
        "speaker_turns": [
            {
                "speaker": turn.speaker,
                "start": turn.start,
                "end": turn.end,
                "text": turn.text,
                "segment_ids": [s.id for s in turn.segments],
            }
            for turn in transcript.turns
        ],
        "models": enhancement.model,
        "seconds": round(seconds, 3),
    }


def enhance_job(
    claim: Claim, monitor: JobMonitor, settings: Settings, storage: Storage
) -> Finished:
    """The work of an enhancement job: read the transcript, enhance it, store the JSON result."""
    from app.enhance.providers import get_provider

    options = claim.options
    started = time.perf_counter()
    monitor.report("loading_transcript", 5)
    transcript = load_transcript(str(options["transcription_job_id"]), storage)
    monitor.check()
    monitor.report("loading_model", 10)
    provider = get_provider(settings)
    load_seconds = time.perf_counter() - started
    monitor.check()
    monitor.report("enhancing", 30)
    tick = time.perf_counter()
    enhancement = provider.enhance(
        transcript,
        EnhancementRequest(
            summarize=bool(options.get("enable_summarization", True)),
            extract_entities=bool(options.get("enable_entity_extraction", True)),
            model=options.get("llm_model"),
        ),
    )
    # "_load" stages are not counted per audio second by the metrics.
    timings = {
        "model_load": round(load_seconds, 3),
        "enhance": round(time.perf_counter() - tick, 3),
    }
    monitor.check()
    result = render_result(claim.job_id, transcript, enhancement, time.perf_counter() - started)
    monitor.report("storing", 97)
    key = artifact_key(claim.job_id, "json")
    storage.put_bytes(
        key,
        json.dumps(result, ensure_ascii=False, indent=2).encode(),
        content_type="application/json",
    )
    return Finished(
        values={
            "result_keys": {"json": key},
            "language": transcript.language,
            "timings": timings,
            "worker_version": f"scribe-rabbit {__version__}; {provider.name}",
        },
        timings=timings,
    )


def run_enhancement(job_id: uuid.UUID, *, worker_id: str) -> str:
    """Run one enhancement job to its outcome."""
    return run_claimed_job(job_id, worker_id=worker_id, kind=KIND, work=enhance_job)
