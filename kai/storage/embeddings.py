"""Embedders: text to vectors, in-process (WordLlama) or through an OpenAI-compatible API."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from kai.aio import closing
from kai.openai_errors import error_message

MAX_ERROR_CHARS = 300
# 64 vectors of 3,072 floats as JSON are ~4 MiB; anything far larger is not an answer.
MAX_BODY_BYTES = 64 * 1024 * 1024
REDACTED = "[redacted]"


class Embedder(Protocol):
    # Names the model: vectors from different embedders must not be compared.
    name: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


class EmbeddingsUnavailable(Exception):
    """The embedder cannot produce vectors now; the message says why, without secrets."""


class WordLlamaEmbedder:
    """Static word embeddings averaged per text: no network, ~0.2 s to load, numpy only.

    Its weights ship inside the `wordllama` wheel; the model loads on first use, in a thread,
    so importing this module and starting the app stay cheap.
    """

    def __init__(self, *, config: str = "l2_supercat", dim: int = 256, batch_size: int = 64):
        self.name = f"wordllama-{config}-{dim}"
        self._config = config
        self._dim = dim
        self._batch_size = batch_size
        self._model: Any = None
        self._loading = threading.Lock()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = await self._loaded()
        # Numpy does the work; in a thread it leaves the event loop free.
        return await asyncio.to_thread(self._embed, model, list(texts))

    def _embed(self, model: Any, texts: list[str]) -> list[list[float]]:
        # Unnormalised: Qdrant's cosine distance normalises, and an empty text stays a zero
        # vector instead of the NaNs that normalising it would give.
        vectors: list[list[float]] = model.embed(
            texts, norm=False, batch_size=self._batch_size
        ).tolist()
        return vectors

    async def _loaded(self) -> Any:
        if self._model is None:
            await asyncio.to_thread(self._load)
        return self._model

    def _load(self) -> None:
        # A thread lock, not an asyncio one: the embedder may outlive an event loop (tests
        # share one across theirs), and loading happens in a worker thread anyway.
        with self._loading:
            if self._model is None:
                self._model = self._load_model()

    def _load_model(self) -> Any:
        try:
            wordllama, word_llama = _import_wordllama()
            # The wheel ships `tokenizers/` while load() looks in `tokenizer/` and would try to
            # download; pointing cache_dir at the package finds the bundled files offline.
            return word_llama.load(
                config=self._config,
                dim=self._dim,
                cache_dir=Path(wordllama.__file__).parent,
                disable_download=True,
            )
        except Exception as exc:
            raise EmbeddingsUnavailable(
                f"The WordLlama model could not be loaded ({type(exc).__name__}: {exc})."
            ) from exc


def _import_wordllama() -> tuple[Any, Any]:
    # wordllama calls logging.basicConfig(level=INFO) on import: when nothing has configured
    # logging yet (tests, scripts) that would print every INFO line to stderr from then on.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        import wordllama  # type: ignore[import-untyped]
        from wordllama import WordLlama
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return wordllama, WordLlama


class OpenAIEmbedder:
    """POST {base_url}/v1/embeddings of any OpenAI-compatible server (OpenAI, vLLM, Ollama...)."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        batch_size: int = 64,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        base = base_url.rstrip("/")
        self._url = base + ("/embeddings" if base.endswith("/v1") else "/v1/embeddings")
        self._where = urlsplit(base).netloc.rsplit("@", 1)[-1] or base
        self.name = f"openai:{model}"
        self._model = model
        self._key = api_key or None
        self._batch_size = batch_size
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), follow_redirects=False
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(await self._batch(texts[start : start + self._batch_size]))
        return vectors

    async def _batch(self, texts: Sequence[str]) -> list[list[float]]:
        # OpenAI refuses empty strings in `input`; one space embeds as "nothing" too.
        body = {
            "model": self._model,
            "input": [text if text.strip() else " " for text in texts],
            "encoding_format": "float",
        }
        headers = {"Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        try:
            async with self._client.stream("POST", self._url, json=body, headers=headers) as reply:
                raw = await _read(reply)
                if reply.status_code >= 300:
                    message = self._scrub(_error_message(raw) or reply.reason_phrase)
                    raise EmbeddingsUnavailable(
                        f"The embeddings endpoint at {self._where} answered "
                        f"{reply.status_code}: {message}"
                    )
        except httpx.InvalidURL as exc:
            raise EmbeddingsUnavailable(f"The embeddings URL is not usable: {exc}") from exc
        except httpx.HTTPError as exc:
            raise EmbeddingsUnavailable(
                f"The embeddings endpoint at {self._where} is unreachable or stopped answering "
                f"({type(exc).__name__})."
            ) from exc
        return self._vectors(raw, len(texts))

    def _vectors(self, raw: bytes, count: int) -> list[list[float]]:
        def malformed(why: str) -> EmbeddingsUnavailable:
            return EmbeddingsUnavailable(
                f"The embeddings endpoint at {self._where} sent a malformed answer: {why}."
            )

        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise malformed("not JSON") from exc
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list) or len(data) != count:
            raise malformed(f"expected {count} embeddings in `data`")
        vectors: list[list[float] | None] = [None] * count
        for position, item in enumerate(data):
            if not isinstance(item, dict):
                raise malformed("an item of `data` is not an object")
            # Servers may answer out of order; `index` says which input a vector belongs to.
            index = item.get("index", position)
            embedding = item.get("embedding")
            if not isinstance(index, int) or not 0 <= index < count or vectors[index] is not None:
                raise malformed("bad or repeated `index`")
            if not isinstance(embedding, list) or not embedding:
                raise malformed("an embedding is not a list of numbers")
            vector = _floats(embedding)
            if vector is None:
                raise malformed("an embedding is not a list of finite numbers")
            vectors[index] = vector
        result = [vector for vector in vectors if vector is not None]
        if len({len(vector) for vector in result}) != 1:
            raise malformed("embeddings of different lengths")
        return result

    def _scrub(self, text: str) -> str:
        # Some servers quote the key they refused; it must not reach logs or users.
        return text.replace(self._key, REDACTED) if self._key else text


def _floats(values: list[Any]) -> list[float] | None:
    out: list[float] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        number = float(value)
        if not math.isfinite(number):
            return None
        out.append(number)
    return out


async def _read(response: httpx.Response) -> bytes:
    body = bytearray()
    async with closing(response.aiter_bytes()) as parts:
        async for part in parts:
            body.extend(part)
            if len(body) > MAX_BODY_BYTES:
                if response.status_code >= 300:
                    break  # enough of an error page
                raise EmbeddingsUnavailable(
                    f"The embeddings endpoint's answer is larger than {MAX_BODY_BYTES} bytes."
                )
    return bytes(body)


def _error_message(raw: bytes) -> str:
    return error_message(raw, max_chars=MAX_ERROR_CHARS)
