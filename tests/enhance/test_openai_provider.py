"""The OpenAI-compatible provider against a local server that speaks chat completions."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from app.config import Settings, get_settings
from app.enhance.providers.base import EnhancementError, EnhancementRequest
from app.enhance.providers.openai_compat import OpenAICompatibleProvider
from app.enhance.transcript import Transcript, parse_transcript
from tests.enhance.sample_transcript import sample_result

ANSWER = {
    "summary": "Diane from New Jersey and Sheila from Texas find they both come from Chicago.",
    "key_points": [
        {"text": "Diane is in New Jersey", "segment_ids": [5]},
        {"text": "Both are originally from Chicago", "segment_ids": [6, 7]},
        {"text": "A point that names no real segment", "segment_ids": [99]},
    ],
    "entities": [
        {"text": "Diane", "type": "PERSON"},
        {"text": "New Jersey", "type": "GPE"},
        {"text": "Chicago", "type": "GPE"},
        {"text": "Atlantis", "type": "GPE"},  # not in the transcript: dropped
    ],
}


class ChatCompletionsServer:
    """Answers POST /v1/chat/completions like an OpenAI-compatible endpoint."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                server.requests.append(
                    {"path": self.path, "auth": self.headers.get("authorization"), "body": body}
                )
                status, content = server.answers.pop(0) if server.answers else (200, "{}")
                if status == 200:
                    payload = {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    }
                else:
                    payload = {"error": {"message": content, "type": "server_error"}}
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture()
def llm() -> Iterator[ChatCompletionsServer]:
    server = ChatCompletionsServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def _settings(llm: ChatCompletionsServer) -> Settings:
    return get_settings().model_copy(
        update={
            "enhancement_provider": "openai",
            "llm_base_url": llm.base_url,
            "llm_api_key": SecretStr("sk-local-test"),
            "llm_model": "llama-3.1-8b-instruct",
            "llm_timeout_seconds": 5,
            "llm_max_retries": 1,
        }
    )


@pytest.fixture()
def transcript() -> Transcript:
    return parse_transcript(sample_result(), job_id="j")


def test_answer_is_grounded_in_the_segments(llm: ChatCompletionsServer, transcript: Any) -> None:
    llm.answers.append((200, "```json\n" + json.dumps(ANSWER) + "\n```"))
    provider = OpenAICompatibleProvider(_settings(llm))
    result = provider.enhance(
        transcript, EnhancementRequest(summarize=True, extract_entities=True, model="qwen2.5")
    )

    [request] = llm.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-local-test"
    body = request["body"]
    assert body["model"] == "qwen2.5" and body["temperature"] == 0
    prompt = body["messages"][-1]["content"]
    assert "[6] SPEAKER_01 (14.4-17.8 s): And I'm Sheila in Texas" in prompt

    assert result.summary == ANSWER["summary"]
    assert result.model == {"provider": "openai", "model": "qwen2.5"}
    first, second, ungrounded = result.key_points
    assert (first.start, first.end, first.speaker, first.segment_ids) == (
        12.542,
        14.184,
        "SPEAKER_00",
        [5],
    )
    assert second.segment_ids == [6, 7] and second.start == 14.444 and second.end == 20.113
    assert ungrounded.segment_ids == [] and ungrounded.start is None
    entities = {(e.text, e.type): e for e in result.entities}
    assert set(entities) == {("Diane", "PERSON"), ("New Jersey", "GPE"), ("Chicago", "GPE")}
    jersey = entities[("New Jersey", "GPE")]
    assert [o.segment_id for o in jersey.occurrences] == [5, 8, 11]
    assert {o.speaker for o in jersey.occurrences} == {"SPEAKER_00"}


def test_default_model_and_only_what_was_asked(llm: ChatCompletionsServer, transcript: Any) -> None:
    llm.answers.append((200, json.dumps(ANSWER)))
    provider = OpenAICompatibleProvider(_settings(llm))
    result = provider.enhance(
        transcript, EnhancementRequest(summarize=False, extract_entities=True)
    )
    assert llm.requests[0]["body"]["model"] == "llama-3.1-8b-instruct"
    assert "summary" not in llm.requests[0]["body"]["messages"][1]["content"]
    assert result.summary is None and result.key_points == [] and result.entities


def test_failures_are_clear(llm: ChatCompletionsServer, transcript: Any) -> None:
    provider = OpenAICompatibleProvider(_settings(llm))
    request = EnhancementRequest(summarize=True, extract_entities=True)

    llm.answers.extend([(500, "overloaded"), (500, "overloaded")])
    with pytest.raises(EnhancementError) as unavailable:
        provider.enhance(transcript, request)
    assert unavailable.value.code == "provider_unavailable" and unavailable.value.transient
    assert len(llm.requests) == 2  # the client's own retry, then a transient failure

    llm.answers.append((400, "model 'nope' not found"))
    with pytest.raises(EnhancementError) as refused:
        provider.enhance(transcript, request)
    assert refused.value.code == "provider_error" and not refused.value.transient
    assert "not found" in refused.value.message

    llm.answers.append((200, "I am sorry, I cannot help with that."))
    with pytest.raises(EnhancementError) as garbage:
        provider.enhance(transcript, request)
    assert garbage.value.code == "provider_bad_response"


def test_unconfigured_provider_is_refused() -> None:
    settings = get_settings().model_copy(update={"llm_base_url": ""})
    with pytest.raises(EnhancementError, match="LLM_BASE_URL"):
        OpenAICompatibleProvider(settings)
