"""Speaker names: what a person calls the speaker labels of a transcription.

The worker's stored results keep the labels it made (SPEAKER_00, CHANNEL_01, ...). Names live on
the job row and are applied to the result dict as one separate step before any format is
rendered, so every export (json, txt, srt, vtt, rttm), the enhanced-AI result and the web page
show the same names, and renaming again never rewrites a stored result.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.errors import Conflict, Invalid
from app.models import Job, JobStatus
from app.storage import ObjectNotFound, Storage

MAX_NAME_CHARS = 80
MAX_SPEAKERS_NAMED = 200


def speaker_labels(result: Any) -> set[str]:
    """Every speaker label a stored result uses (in segments, words, turns, the speaker list)."""
    found: set[str] = set()

    def walk(node: Any, key: str | None) -> None:
        if isinstance(node, dict):
            speaker = node.get("speaker")
            if isinstance(speaker, str) and speaker:
                found.add(speaker)
            if key == "speakers" and isinstance(node.get("id"), str):
                found.add(node["id"])
            for child_key, child in node.items():
                walk(child, child_key)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)

    walk(result, None)
    return found


def clean_name(label: str, name: Any) -> str | None:
    """A name as stored: trimmed, one line, at most MAX_NAME_CHARS; None removes the name."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise Invalid(f"the name of {label} must be a string or null")
    name = " ".join(name.split())  # one line: SRT, TXT and RTTM are line-based
    if not name:
        return None
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise Invalid(f"the name of {label} has control or invisible format characters")
    if len(name) > MAX_NAME_CHARS:
        raise Invalid(f"the name of {label} is longer than {MAX_NAME_CHARS} characters")
    return name


def merge_names(
    current: Mapping[str, str], update: Mapping[str, Any], *, labels: set[str]
) -> dict[str, str]:
    """The names after an update (a JSON merge patch: null or "" removes a name)."""
    unknown = sorted(set(update) - labels)
    if unknown:
        known = ", ".join(sorted(labels)) or "none (the job ran without diarization)"
        raise Invalid(f"unknown speaker {', '.join(unknown)}; this job's speakers: {known}")
    merged = dict(current)
    for label, raw in update.items():
        name = clean_name(label, raw)
        if name is None:
            merged.pop(label, None)
        else:
            merged[label] = name
    return merged


def apply_speaker_names(result: Any, names: Mapping[str, str]) -> Any:
    """A copy of a result (transcript or enhancement) with names in place of labels.

    Every `speaker` that has a name becomes the name and keeps its label in `speaker_id`;
    entries of a `speakers` list get a `name`; a `summary` text that quotes labels (the
    extractive summary prefixes each sentence with its speaker) gets the names. Walking the whole
    document keeps this right when the result gains new places that carry a speaker.
    """
    if not names:
        return result
    labels = sorted(names, key=len, reverse=True)
    quoted = re.compile(r"\b(" + "|".join(re.escape(label) for label in labels) + r")\b")

    def walk(node: Any, key: str | None) -> Any:
        if isinstance(node, str) and key == "summary":
            return quoted.sub(lambda match: names[match.group(0)], node)
        if isinstance(node, dict):
            out = {k: walk(v, k) for k, v in node.items()}
            speaker = node.get("speaker")
            if isinstance(speaker, str) and speaker:
                out["speaker_id"] = speaker
                out["speaker"] = names.get(speaker, speaker)
            if key == "speakers" and isinstance(node.get("id"), str):
                out["name"] = names.get(node["id"], node["id"])
            return out
        if isinstance(node, list):
            return [walk(item, key) for item in node]
        return node

    named = walk(result, None)
    if isinstance(named, dict):
        named["speaker_names"] = dict(names)
    return named


def _names_for_format(names: Mapping[str, str], fmt: str) -> dict[str, str]:
    if fmt == "rttm":  # fields are separated by white space
        return {label: re.sub(r"\s+", "_", name) for label, name in names.items()}
    if fmt == "vtt":  # the name sits inside a <v ...> tag
        return {
            label: name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            for label, name in names.items()
        }
    return dict(names)


def render_named(result: dict[str, Any], fmt: str, names: Mapping[str, str]) -> bytes | None:
    """One format of a result with the names applied (None: the result has no such format)."""
    from app.pipeline.formats import RENDERERS  # pure renderers (srt, webvtt-py); no ML stack

    named = apply_speaker_names(result, _names_for_format(names, fmt))
    text = RENDERERS[fmt](named)
    return None if text is None else text.encode("utf-8")


def read_result(job: Job, storage: Storage) -> dict[str, Any]:
    """The stored JSON result of a finished transcription."""
    key = job.result_keys.get("json")
    if key is None:
        raise Conflict(f"job {job.id} has no transcript to name speakers in", code="no_transcript")
    try:
        return dict(json.loads(storage.get_bytes(str(key))))
    except ObjectNotFound as exc:
        raise Conflict(
            f"the transcript of job {job.id} is no longer stored", code="no_transcript"
        ) from exc


def set_speaker_names(
    session: Session, *, job: Job, update: Mapping[str, Any], storage: Storage
) -> Job:
    """Merge names into the job's speaker names after checking them against its transcript."""
    if job.kind != "transcription" or job.status != JobStatus.SUCCEEDED:
        raise Conflict(
            f"job {job.id} is a {job.status} {job.kind} job; speakers can be named once a "
            "transcription has succeeded",
            code="job_not_finished" if job.status in ("queued", "running") else "no_transcript",
        )
    if len(update) > MAX_SPEAKERS_NAMED:
        raise Invalid(f"name at most {MAX_SPEAKERS_NAMED} speakers at once")
    labels = speaker_labels(read_result(job, storage))
    # Two renames at once must not lose one: the row is locked while the map is merged.
    session.refresh(job, with_for_update=True)
    job.speaker_names = merge_names(job.speaker_names or {}, update, labels=labels)
    session.flush()
    return job


def names_of_job(session: Session, *, principal: Principal, job_id: Any) -> dict[str, str]:
    """The speaker names of one of the caller's jobs ({} when it has none or is gone)."""
    try:
        job_uuid = uuid.UUID(str(job_id))
    except ValueError:
        return {}
    names = session.scalar(
        select(Job.speaker_names).where(
            Job.id == job_uuid, Job.owner == principal.owner, Job.deleted_at.is_(None)
        )
    )
    return dict(names or {})
