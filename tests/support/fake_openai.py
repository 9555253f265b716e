"""Small OpenAI-compatible servers for tests, to run with `serve_app`: FakeOpenAI (chat
completions, embeddings) and SilentLLM (never answers; the `silent_llm` fixture)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.servers import serve_app

MODEL = "fake-model"


@dataclass(frozen=True)
class Recorded:
    authorization: str | None
    body: dict[str, Any]


@dataclass
class FakeOpenAI:
    """Answers POST /v1/chat/completions and /v1/embeddings; set the fields to change what it
    answers."""

    api_key: str | None = "sk-fake-secret"
    chunks: list[str] = field(default_factory=lambda: ["Hello", ", ", "world", "!"])
    # Answer every request with this status and an OpenAI-style error instead.
    fail_status: int | None = None
    fail_message: str = "the fake was told to fail"
    # Send a stream whose data line is not JSON.
    malformed: bool = False
    # Stop the stream before its finish chunk and `data: [DONE]`.
    truncated: bool = False
    # Answer stream:true with plain JSON, as some servers do.
    ignore_stream: bool = False
    # Pause before each streamed chunk (of the requests that come after it is set).
    chunk_delay: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""
    # POST /v1/embeddings: bag-of-words vectors of this size (texts sharing words are near).
    embedding_dim: int = 64
    # Answer embeddings with `data` that is not a list, as a broken server might.
    malformed_embeddings: bool = False
    embedding_requests: list[Recorded] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._complete, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            ]
        )

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        authorization = request.headers.get("authorization")
        self.requests.append(Recorded(authorization, body))
        if self.fail_status is not None:
            return _error(self.fail_status, self.fail_message)
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            sent = (authorization or "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {sent}.")
        if body.get("stream") and not self.ignore_stream:
            return StreamingResponse(self._events(body), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body.get("model", MODEL),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(self.chunks)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": len(self.chunks)},
            }
        )

    async def _embeddings(self, request: Request) -> Response:
        body = await request.json()
        authorization = request.headers.get("authorization")
        self.embedding_requests.append(Recorded(authorization, body))
        if self.fail_status is not None:
            return _error(self.fail_status, self.fail_message)
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            sent = (authorization or "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {sent}.")
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(t, str) and t for t in texts):
            return _error(400, "'input' must be a non-empty string or list of them.")
        if self.malformed_embeddings:
            return JSONResponse({"object": "list", "data": "nope"})
        data = [
            {
                "object": "embedding",
                "index": index,
                "embedding": _bag_of_words(t, self.embedding_dim),
            }
            for index, t in reversed(list(enumerate(texts)))  # out of order, as servers may
        ]
        return JSONResponse(
            {"object": "list", "data": data, "model": body.get("model", MODEL), "usage": {}}
        )

    async def _events(self, body: dict[str, Any]) -> AsyncIterator[str]:
        if self.malformed:
            yield "data: {this is not json\n\n"
            return
        # Read once per request: a test that speeds the fake up for the next request does
        # not make an answer already streaming finish before it can be interrupted.
        delay = self.chunk_delay
        yield _event(body, {"role": "assistant"})
        yield ": a comment line, to be ignored\n\n"
        for chunk in self.chunks:
            await asyncio.sleep(delay)
            yield _event(body, {"content": chunk})
        if self.truncated:
            return
        yield _event(body, {}, finish_reason="stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            # As OpenAI sends it: a last chunk with no choices and the whole answer's usage.
            counts = {"prompt_tokens": prompt_tokens(body), "completion_tokens": len(self.chunks)}
            last: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion.chunk"}
            yield f"data: {json.dumps({**last, 'choices': [], 'usage': counts})}\n\n"
        yield "data: [DONE]\n\n"


def prompt_tokens(body: dict[str, Any]) -> int:
    """What the fake reports a request's prompt cost: a word per token, plus one per message."""
    messages = body.get("messages") or []
    return sum(1 + len(str(m.get("content", "")).split()) for m in messages)


def _event(body: dict[str, Any], delta: dict[str, Any], finish_reason: str | None = None) -> str:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": body.get("model", MODEL),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": "invalid_request_error", "code": None}},
        status_code=status,
    )


def _bag_of_words(text: str, dim: int) -> list[float]:
    """Each word adds ±1 to a dimension chosen by its hash; the vector is unit length."""
    vector = [0.0] * dim
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "big")
        vector[slot % dim] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


@dataclass
class SilentLLM:
    """An OpenAI-compatible endpoint that never answers: it waits until its client leaves."""

    asked: asyncio.Event = field(default_factory=asyncio.Event)
    abandoned: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])

    async def _complete(self, request: Request) -> Response:
        await request.body()
        self.asked.set()
        # The body is read: what comes next is the client hanging up.
        while (await request.receive())["type"] != "http.disconnect":
            pass
        self.abandoned.set()
        return JSONResponse({}, status_code=500)


@pytest.fixture
async def silent_llm() -> AsyncIterator[tuple[SilentLLM, str]]:
    # Started before the kAI server, so it stops after kAI has closed its HTTP client.
    llm = SilentLLM()
    async with serve_app(llm.app()) as url:
        yield llm, f"{url}/v1"
