"""Checking a new transcription request as a whole: every problem of one request in one 422.

The schema (unknown or malformed options), the URL guard, the model and language checks, the
speaker and retention bounds and the webhook guard each look at the request, and the client
gets all their findings together instead of one per round trip. Options that failed the schema
are left out of the later checks; the others are still checked.

The URL and webhook checks resolve host names, so call this from a worker thread, not the
event loop.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError

from app.config import Settings
from app.errors import InvalidRequest, Problem, schema_problems, sound_values
from app.inputs.sources import InputRefused, check_url_input
from app.jobs import service
from app.jobs.schemas import TranscriptionOptions

Options = TypeVar("Options", bound=TranscriptionOptions)


def check_transcription_request(data: Any, schema: type[Options], *, settings: Settings) -> Options:
    """Validate a request's options and run every server-side check on them.

    Raises InvalidRequest (a 422) listing every problem found; returns the parsed options,
    which `service.create_job(..., checked=True)` takes without checking them again.
    """
    problems: list[Problem] = []
    parsed: Options | None = None
    try:
        parsed = schema.model_validate(data)
        values = dict(parsed)
    except ValidationError as exc:
        errors = exc.errors()
        problems.extend(schema_problems(errors))
        values = sound_values(schema, data, errors)
    url = values.get("url")
    if isinstance(url, str):
        try:
            check_url_input(url, settings=settings)  # refuse now what the worker may not read
        except InputRefused as refused:
            problems.append(Problem("url", refused.code, refused.message))
    problems.extend(service.option_problems(values, settings=settings))
    if problems:
        raise InvalidRequest(problems)
    assert parsed is not None
    return parsed
