"""The OpenAI-compatible provider: any chat-completions endpoint (OpenAI, vLLM, Ollama, ...).

The model sees the transcript as numbered segments with their speaker and time, and answers
JSON: a summary, key points naming the segments they come from, and entities. Times and
speakers are then taken from those segments, and each entity is located in the text; an entity
the text does not contain is dropped, so every result points back to what was said.
"""

from __future__ import annotations

import json
import re
from typing import Any

import openai

from app.config import Settings
from app.enhance.providers.base import (
    Enhancement,
    EnhancementError,
    EnhancementRequest,
    Entity,
    KeyPoint,
    Occurrence,
    key_point_from,
)
from app.enhance.transcript import Segment, Transcript

SYSTEM_PROMPT = (
    "You analyse meeting and call transcripts. The user gives numbered segments in the form "
    "'[id] SPEAKER (start-end s): text'. Answer with one JSON object and nothing else."
)


def _instructions(request: EnhancementRequest) -> str:
    parts = []
    if request.summarize:
        parts.append(
            '"summary": a short paragraph summarising the conversation; '
            '"key_points": a list of {"text": one key point, "segment_ids": [ids of the '
            "segments it comes from]}"
        )
    if request.extract_entities:
        parts.append(
            '"entities": a list of {"text": the entity exactly as written in the transcript, '
            '"type": one of PERSON, ORG, GPE, LOC, PRODUCT, EVENT, DATE, TIME, MONEY, '
            "QUANTITY, OTHER}"
        )
    return "Return a JSON object with these keys: " + "; ".join(parts) + "."


def _render(transcript: Transcript) -> str:
    return "\n".join(
        f"[{s.id}] {s.speaker or 'SPEAKER'} ({s.start:.1f}-{s.end:.1f} s): {s.text}"
        for s in transcript.segments
    )


def _parse_json(content: str) -> dict[str, Any]:
    text = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    try:
        data = json.loads(text[start : end + 1] if start >= 0 else text)
    except ValueError as exc:
        raise EnhancementError(
            "provider_bad_response", f"The model did not answer JSON: {content[:200]!r}"
        ) from exc
    if not isinstance(data, dict):
        raise EnhancementError("provider_bad_response", "The model's answer is not a JSON object.")
    return data


def _key_points(raw: Any, by_id: dict[int, Segment]) -> list[KeyPoint]:
    points: list[KeyPoint] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict) or not str(item.get("text", "")).strip():
            continue
        ids = item.get("segment_ids") or []
        segments = [by_id[i] for i in ids if isinstance(i, int) and i in by_id]
        points.append(key_point_from(str(item["text"]).strip(), segments))
    return points


def locate_entities(raw: Any, transcript: Transcript) -> list[Entity]:
    """Entities with every place their text occurs; those the text lacks are dropped."""
    entities: dict[tuple[str, str], Entity] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        text = str(item.get("text", "")).strip()
        kind = str(item.get("type") or "OTHER").upper()
        if not text or (text.lower(), kind) in entities:
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(text)}(?!\w)", re.IGNORECASE)
        occurrences = [
            Occurrence(s.id, s.start, s.end, s.speaker, match.group(0))
            for s in transcript.segments
            for match in pattern.finditer(s.text)
        ]
        if occurrences:
            entities[(text.lower(), kind)] = Entity(text=text, type=kind, occurrences=occurrences)
    return sorted(entities.values(), key=lambda e: (-len(e.occurrences), e.occurrences[0].start))


class OpenAICompatibleProvider:
    """Chat completions through the `openai` client at LLM_BASE_URL."""

    name = "openai"

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_base_url:
            raise EnhancementError("provider_unconfigured", "LLM_BASE_URL is not set.")
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        key = key or "unused"  # local servers (vLLM, Ollama) often need no key; the client does
        self.client = openai.OpenAI(
            base_url=settings.llm_base_url,
            api_key=key,
            timeout=settings.llm_timeout_seconds,
            max_retries=settings.llm_max_retries,
        )
        self.default_model = settings.llm_model

    def enhance(self, transcript: Transcript, request: EnhancementRequest) -> Enhancement:
        """Ask the model, then ground its answer in the transcript's segments."""
        model = request.model or self.default_model
        if not model:
            raise EnhancementError("provider_unconfigured", "No model: set LLM_MODEL.")
        try:
            response = self.client.chat.completions.create(
                model=model,
                temperature=0,
                response_format={"type": "json_object"},
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": _instructions(request)},
                    {"role": "user", "content": _render(transcript)},
                ],
            )
        except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as e:
            raise EnhancementError(
                "provider_unavailable", f"The model endpoint failed: {e}", transient=True
            ) from e
        except openai.APIStatusError as exc:
            raise EnhancementError(
                "provider_error", f"The model endpoint refused the request: {exc.message}"
            ) from exc
        content = response.choices[0].message.content if response.choices else None
        if not content:
            raise EnhancementError("provider_bad_response", "The model gave an empty answer.")
        data = _parse_json(content)
        by_id = {s.id: s for s in transcript.segments}
        summary = data.get("summary") if request.summarize else None
        return Enhancement(
            summary=str(summary).strip() if summary else None,
            key_points=_key_points(data.get("key_points"), by_id) if request.summarize else [],
            entities=locate_entities(data.get("entities"), transcript)
            if request.extract_entities
            else [],
            model={"provider": self.name, "model": response.model or model},
        )
