"""`llm`: any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp, OpenAI)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from jsonschema import Draft202012Validator

from kai.aio import closing
from kai.egress.client import Resolver, egress_client, system_resolver
from kai.egress.policy import EgressPolicy, EgressRefused
from kai.openai_errors import short_reason, structured_message
from kai.runtimes.base import (
    AgentHandle,
    CommandFailed,
    Conversation,
    HealthSample,
    Progress,
    RuntimeUnavailable,
    Usage,
)

CONNECT_TIMEOUT = 5.0
# Per read: a streamed answer may take minutes as long as chunks keep coming.
READ_TIMEOUT = 60.0
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024

_TEMPERATURE = {"type": "number", "minimum": 0, "maximum": 2}
_MAX_TOKENS = {"type": "integer", "minimum": 1}
# What a prompt's options, a chat command's params or a task's payload may override.
_OVERRIDES = Draft202012Validator(
    {"type": "object", "properties": {"temperature": _TEMPERATURE, "maxTokens": _MAX_TOKENS}}
)


class LlmRuntime:
    name = "llm"
    description = (
        "Sends prompts and `chat` commands to an OpenAI-compatible chat-completions endpoint; "
        "prompts are streamed back as they are generated."
    )
    config_schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "baseUrl": {
                "type": "string",
                "pattern": r"^https?://[^\s/?#]+([/?#]\S*)?$",
                "maxLength": 2000,
                "description": "The API root, e.g. http://localhost:11434/v1; "
                "requests go to {baseUrl}/chat/completions.",
            },
            "model": {"type": "string", "minLength": 1, "maxLength": 200},
            "apiKey": {
                "type": "string",
                "maxLength": 4000,
                "description": "Sent as a bearer token; never returned by the API.",
            },
            "systemPrompt": {"type": "string", "maxLength": 100_000},
            "temperature": _TEMPERATURE,
            "maxTokens": _MAX_TOKENS,
        },
        "required": ["baseUrl", "model"],
        "additionalProperties": False,
    }
    task_types: tuple[str, ...] = ("prompt",)
    auto_start = True

    def __init__(
        self,
        *,
        egress: EgressPolicy,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        resolver: Resolver = system_resolver,
    ):
        # baseUrl is the user's: it reaches only what the egress policy allows (E1).
        self._client = egress_client(
            egress,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            resolver=resolver,
        )

    @property
    def closed(self) -> bool:
        return self._client.is_closed

    async def aclose(self) -> None:
        await self._client.aclose()

    async def start(self, agent: AgentHandle) -> None:
        # The configuration was checked against the schema; the endpoint is tried on use.
        return None

    async def stop(self, agent: AgentHandle) -> None:
        return None

    async def command(self, agent: AgentHandle, command: str, params: dict[str, Any]) -> Any:
        if command != "chat":
            raise CommandFailed(
                f"Unknown command {command!r}: the llm agent type knows only 'chat' "
                "(params.messages: [{role, content}])."
            )
        messages = _messages(params.get("messages"), where="params.messages")
        body = _request(agent.configuration, messages, params, where="params", stream=False)
        async with self._post(agent, body) as response:
            answer = _json(await _read(response, MAX_BODY_BYTES))
        choice = _first_choice(answer)
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if content is not None and not isinstance(content, str):
            raise CommandFailed("The LLM endpoint's answer has no text content.")
        return {
            "content": content or "",
            "model": answer.get("model") or body["model"],
            "usage": answer.get("usage"),
        }

    async def prompt(
        self, agent: AgentHandle, prompt: str, options: dict[str, Any] | None
    ) -> AsyncGenerator[str, None]:
        messages = [{"role": "user", "content": prompt}]
        body = _request(agent.configuration, messages, options or {}, where="options", stream=True)
        async with self._post(agent, body) as response, aclosing(_deltas(response)) as deltas:
            async for delta in deltas:
                if isinstance(delta, str):
                    yield delta

    async def converse(
        self, agent: AgentHandle, conversation: Conversation, options: dict[str, Any] | None
    ) -> AsyncGenerator[str | Usage, None]:
        """The thread as chat messages (kAI trimmed it to the history budget), the system
        prompt first; the usage the endpoint reports at the end is passed on."""
        messages = [{"role": turn.role, "content": turn.content} for turn in conversation.turns]
        body = _request(agent.configuration, messages, options or {}, where="options", stream=True)
        # Without it a streaming endpoint reports no usage (OpenAI, vLLM, llama.cpp).
        body["stream_options"] = {"include_usage": True}
        async with self._post(agent, body) as response, aclosing(_deltas(response)) as deltas:
            async for delta in deltas:
                yield delta

    async def run_task(
        self, agent: AgentHandle, task_type: str, payload: Any, progress: Progress
    ) -> Any:
        if task_type != "prompt":
            raise CommandFailed(
                f"Unknown task type {task_type!r}: the llm agent type runs 'prompt'."
            )
        if not isinstance(payload, dict):
            raise CommandFailed("A prompt task's payload must be {prompt} or {messages}.")
        if payload.get("messages") is not None:
            messages = _messages(payload["messages"], where="payload.messages")
        elif isinstance(payload.get("prompt"), str) and payload["prompt"].strip():
            messages = [{"role": "user", "content": payload["prompt"]}]
        else:
            raise CommandFailed("A prompt task needs payload.prompt (text) or payload.messages.")
        body = _request(agent.configuration, messages, payload, where="payload", stream=True)
        await progress(0.0)
        parts: list[str] = []
        async with self._post(agent, body) as response, aclosing(_deltas(response)) as deltas:
            async for delta in deltas:
                if isinstance(delta, str):
                    parts.append(delta)
        await progress(1.0)
        return "".join(parts)

    async def health(self, agent: AgentHandle) -> HealthSample | None:
        # The model runs elsewhere: nothing about its process is measured here.
        return None

    @asynccontextmanager
    async def _post(
        self, agent: AgentHandle, body: dict[str, Any]
    ) -> AsyncIterator[httpx.Response]:
        """The endpoint's 2xx response; other answers and transport failures as runtime errors."""
        config = agent.configuration
        base = str(config.get("baseUrl", ""))
        key = config.get("apiKey") or None
        headers = {"Accept": "text/event-stream" if body["stream"] else "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            async with self._client.stream(
                "POST", base.rstrip("/") + "/chat/completions", json=body, headers=headers
            ) as response:
                if response.status_code >= 300:
                    message = await _error_reason(response, key)
                    failure = f"The LLM endpoint answered {response.status_code}: {message}"
                    if response.status_code >= 500:
                        raise RuntimeUnavailable(failure)
                    raise CommandFailed(failure)
                yield response
        except httpx.InvalidURL as exc:
            raise CommandFailed(f"baseUrl is not a usable URL: {exc}") from exc
        except EgressRefused as exc:
            raise CommandFailed(f"baseUrl is refused: {exc}") from exc
        except httpx.TransportError as exc:
            raise RuntimeUnavailable(
                f"The LLM endpoint at {_where(base)} is unreachable or stopped answering "
                f"({type(exc).__name__})."
            ) from exc


def _request(
    config: dict[str, Any],
    messages: list[dict[str, Any]],
    overrides: dict[str, Any],
    *,
    where: str,
    stream: bool,
) -> dict[str, Any]:
    error = next(iter(_OVERRIDES.iter_errors(overrides)), None)
    if error is not None:
        path = ".".join(str(part) for part in error.absolute_path)
        raise CommandFailed(f"{where}.{path}: {error.message}" if path else error.message)
    system = config.get("systemPrompt")
    if system and not any(message["role"] == "system" for message in messages):
        messages = [{"role": "system", "content": system}, *messages]
    body: dict[str, Any] = {"model": config["model"], "messages": messages, "stream": stream}
    temperature = overrides.get("temperature", config.get("temperature"))
    if temperature is not None:
        body["temperature"] = temperature
    max_tokens = overrides.get("maxTokens", config.get("maxTokens"))
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


def _messages(value: Any, *, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise CommandFailed(f"{where} must be a non-empty list of {{role, content}}.")
    out: list[dict[str, Any]] = []
    for index, message in enumerate(value):
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("role"), str)
            or not message["role"]
            or not isinstance(message.get("content"), str)
        ):
            raise CommandFailed(f"{where}.{index} must be {{role: text, content: text}}.")
        out.append({"role": message["role"], "content": message["content"]})
    return out


async def _deltas(response: httpx.Response) -> AsyncGenerator[str | Usage, None]:
    """Text deltas of a server-sent-events completion stream, up to `data: [DONE]`, and
    the usage the stream reports, if it does."""
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        # A server that ignores `stream: true` answers the whole completion at once.
        answer = _json(await _read(response, MAX_BODY_BYTES))
        message = _first_choice(answer).get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str) and content:
            yield content
        usage = _usage(answer.get("usage"))
        if usage is not None:
            yield usage
        return
    finished = False
    async with aclosing(_lines(response, MAX_BODY_BYTES)) as lines:
        async for line in lines:
            if not line.startswith("data:"):
                continue  # blank separators, `: comments`, event:/id:/retry: fields
            data = line[5:].strip()
            if data == "[DONE]":
                return
            chunk = _json(data.encode())
            usage = _usage(chunk.get("usage"))
            if usage is not None:
                yield usage
            choices = chunk.get("choices")
            if not isinstance(choices, list):
                raise CommandFailed(
                    "The LLM endpoint sent a malformed stream: a chunk without choices."
                )
            if not choices:
                continue  # e.g. a usage-only chunk
            choice = choices[0]
            delta = choice.get("delta") if isinstance(choice, dict) else None
            content = delta.get("content") if isinstance(delta, dict) else None
            if content is not None and not isinstance(content, str):
                raise CommandFailed("The LLM endpoint sent a malformed stream: non-text content.")
            if content:
                yield content
            if isinstance(choice, dict) and choice.get("finish_reason"):
                finished = True
    if not finished:
        raise CommandFailed("The LLM endpoint's stream ended before it finished.")


async def _lines(response: httpx.Response, limit: int) -> AsyncGenerator[str, None]:
    """The lines of a streamed answer, which may total at most `limit` bytes: an endpoint
    that streams without end (or one endless line) is cut off, not buffered (E2)."""
    buffer = bytearray()
    total = 0
    async with closing(response.aiter_bytes()) as parts:
        async for part in parts:
            total += len(part)
            if total > limit:
                raise CommandFailed(f"The LLM endpoint's answer is larger than {limit} bytes.")
            buffer.extend(part)
            if b"\n" not in part:
                continue
            *complete, rest = bytes(buffer).split(b"\n")
            buffer = bytearray(rest)
            for line in complete:
                yield line.rstrip(b"\r").decode(errors="replace")
    if buffer:
        yield bytes(buffer).rstrip(b"\r").decode(errors="replace")


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise CommandFailed("The LLM endpoint sent malformed JSON.") from exc
    if not isinstance(value, dict):
        raise CommandFailed("The LLM endpoint sent JSON that is not an object.")
    error = value.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else error
        raise CommandFailed(f"The LLM endpoint reported an error: {short_reason(str(message))}")
    return value


def _usage(value: Any) -> Usage | None:
    """OpenAI's usage object, counts that are not whole non-negative numbers left out."""
    if not isinstance(value, dict):
        return None

    def count(name: str) -> int | None:
        number = value.get(name)
        ok = isinstance(number, int) and not isinstance(number, bool) and number >= 0
        return number if ok else None

    usage = Usage(count("prompt_tokens"), count("completion_tokens"))
    return usage if usage != Usage() else None


def _first_choice(answer: dict[str, Any]) -> dict[str, Any]:
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise CommandFailed("The LLM endpoint's answer has no choices.")
    return choices[0]


async def _read(response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes:
    body = bytearray()
    async with closing(response.aiter_bytes()) as parts:
        async for part in parts:
            body.extend(part)
            if len(body) > limit:
                if truncate:
                    return bytes(body[:limit])
                raise CommandFailed(f"The LLM endpoint's answer is larger than {limit} bytes.")
    return bytes(body)


async def _error_reason(response: httpx.Response, key: str | None) -> str:
    # Only an OpenAI-style error's own message, on one short line (E2): the body of
    # whatever else answered (an HTML page, another service's data) is never shown.
    raw = await _read(response, MAX_ERROR_BYTES, truncate=True)
    return short_reason(structured_message(raw), secret=key) or response.reason_phrase


def _where(base: str) -> str:
    # Host and port only: a URL's user:password part must not reach error messages.
    parts = urlsplit(base)
    return parts.netloc.rsplit("@", 1)[-1] or base
