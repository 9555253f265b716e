"""Semantic search over files' text: WordLlama or an OpenAI-compatible embedder, Qdrant local."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from kai.storage.embeddings import EmbeddingsUnavailable, OpenAIEmbedder, WordLlamaEmbedder
from kai.storage.search_index import Passage, SearchIndex, SearchUnavailable
from tests.support.fake_openai import FakeOpenAI
from tests.support.servers import free_port, serve_app

A, B = "usr_a", "usr_b"
FILES = {
    "fil_k8s": "Kubernetes pod crashed out of memory",
    "fil_cake": "Mix the flour, eggs and sugar, then bake the cake for thirty minutes.",
    "fil_match": "The striker scored twice in the second half and the team won the league.",
    "fil_invoice": "Invoice 4711: the amount due is 1,250 euros by the end of the month.",
    "fil_garden": "Water the tomatoes every morning and prune the roses in early spring.",
    "fil_trip": "Our flight to Lisbon leaves at noon; the hotel is booked for three nights.",
}
OOM_QUERY = "container ran out of RAM"


@pytest.fixture(scope="module")
def embedder() -> WordLlamaEmbedder:
    # One model for the module: it loads on first use and is reused by every test.
    return WordLlamaEmbedder()


@pytest.fixture
async def index(embedder: WordLlamaEmbedder) -> AsyncIterator[SearchIndex]:
    search = SearchIndex(embedder=embedder, location=":memory:")
    await search.start()
    yield search
    await search.aclose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    async with serve_app(server.app()) as url:
        server.base_url = url
        yield server


async def index_all(
    index: SearchIndex, files: dict[str, str], *, owner_id: str = A, agent_id: str | None = None
) -> None:
    for file_id, text in files.items():
        await index.index_file(file_id=file_id, owner_id=owner_id, agent_id=agent_id, text=text)


def ids(passages: Sequence[Passage]) -> list[str]:
    return [passage.file_id for passage in passages]


# WordLlama and Qdrant in memory ----------------------------------------------------------


async def test_the_file_that_means_the_query_ranks_first(index: SearchIndex) -> None:
    await index_all(index, FILES)

    found = await index.search(OOM_QUERY, owner_id=A)

    assert ids(found)[0] == "fil_k8s"
    assert found[0].chunk == FILES["fil_k8s"]
    assert sorted(ids(found)) == sorted(FILES)  # one passage per short file
    scores = [passage.score for passage in found]
    assert scores == sorted(scores, reverse=True)


async def test_limit_caps_the_passages(index: SearchIndex) -> None:
    await index_all(index, FILES)

    assert ids(await index.search(OOM_QUERY, owner_id=A, limit=2))[0] == "fil_k8s"
    assert len(await index.search(OOM_QUERY, owner_id=A, limit=2)) == 2
    assert await index.search(OOM_QUERY, owner_id=A, limit=0) == []


async def test_another_owner_sees_nothing_of_them(index: SearchIndex) -> None:
    await index_all(index, FILES, owner_id=A)
    await index_all(index, {"fil_b": "Grocery list: milk, bread, apples"}, owner_id=B)

    assert ids(await index.search(OOM_QUERY, owner_id=B)) == ["fil_b"]
    assert "fil_b" not in ids(await index.search("milk and bread", owner_id=A))
    assert await index.search(OOM_QUERY, owner_id="usr_nobody") == []


async def test_agent_id_narrows_to_that_agents_files(index: SearchIndex) -> None:
    await index_all(index, {"fil_k8s": FILES["fil_k8s"]}, agent_id="agt_ops")
    await index_all(index, {"fil_cake": FILES["fil_cake"]}, agent_id="agt_chef")
    await index_all(index, {"fil_trip": FILES["fil_trip"]})

    assert ids(await index.search(OOM_QUERY, owner_id=A, agent_id="agt_chef")) == ["fil_cake"]
    assert ids(await index.search(OOM_QUERY, owner_id=A, agent_id="agt_ops")) == ["fil_k8s"]
    assert len(await index.search(OOM_QUERY, owner_id=A)) == 3
    assert await index.search(OOM_QUERY, owner_id=B, agent_id="agt_ops") == []


async def test_remove_file_removes_its_passages(index: SearchIndex) -> None:
    await index_all(index, FILES)

    await index.remove_file("fil_k8s")
    await index.remove_file("fil_never_indexed")

    found = await index.search(OOM_QUERY, owner_id=A)
    assert "fil_k8s" not in ids(found)
    assert len(found) == len(FILES) - 1


async def test_reindexing_replaces_the_passages(index: SearchIndex) -> None:
    long_text = "\n\n".join(
        f"Paragraph {i} tells about the ocean and its waves." for i in range(60)
    )
    assert await index.index_file(file_id="fil_1", owner_id=A, agent_id=None, text=long_text) > 1
    # The same text again (a task re-run after a crash), then a shorter new text.
    await index.index_file(file_id="fil_1", owner_id=A, agent_id=None, text=long_text)
    count = await index.index_file(
        file_id="fil_1", owner_id=A, agent_id="agt_1", text="Kubernetes pod crashed"
    )

    found = await index.search("ocean waves", owner_id=A, limit=100)
    assert count == 1
    assert [(p.file_id, p.chunk) for p in found] == [("fil_1", "Kubernetes pod crashed")]
    assert len(await index.search("ocean", owner_id=A, agent_id="agt_1")) == 1


async def test_a_long_text_is_several_passages_and_the_middle_one_is_found(
    index: SearchIndex,
) -> None:
    filler = (
        "Section {i}. The committee reviewed the office budget, the meeting schedule and "
        "the printer paper supply, and agreed to revisit the topic next quarter."
    )
    paragraphs = [filler.format(i=i) for i in range(200)]
    paragraphs[100] = (
        "Section 100. The volcano erupted at dawn and rivers of lava flowed down the "
        "mountain into the sea, forcing the villagers to flee."
    )

    count = await index.index_file(
        file_id="fil_long", owner_id=A, agent_id=None, text="\n\n".join(paragraphs)
    )

    assert count > 20
    found = await index.search("lava from an eruption", owner_id=A, limit=3)
    assert ids(found) == ["fil_long"] * 3
    assert "volcano erupted" in found[0].chunk
    assert len(found[0].chunk) <= 800
    # Static embeddings average a passage's words: the paragraph is a fifth of its passage,
    # so a query naming its topic plainly is what lifts it above unrelated short files.
    await index_all(index, FILES)
    found = await index.search("volcanic eruption and lava", owner_id=A, limit=1)
    assert "volcano erupted" in found[0].chunk


async def test_blank_query_empty_text_and_missing_collection(index: SearchIndex) -> None:
    # Nothing indexed yet: there is no collection, and nothing fails.
    assert await index.search(OOM_QUERY, owner_id=A) == []
    await index.remove_file("fil_1")

    assert await index.index_file(file_id="fil_1", owner_id=A, agent_id=None, text=" \n ") == 0
    await index_all(index, FILES)

    assert await index.search("   ", owner_id=A) == []
    assert await index.search("", owner_id=A) == []


async def test_files_indexed_at_once_share_the_collection(index: SearchIndex) -> None:
    await asyncio.gather(
        *(
            index.index_file(file_id=file_id, owner_id=A, agent_id=None, text=text)
            for file_id, text in FILES.items()
        )
    )

    assert ids(await index.search(OOM_QUERY, owner_id=A))[0] == "fil_k8s"
    await index.check()


# Qdrant local mode on disk ----------------------------------------------------------------


async def test_on_disk_passages_survive_a_restart_and_the_directory_is_locked(
    embedder: WordLlamaEmbedder, tmp_path: Path
) -> None:
    location = str(tmp_path / "qdrant")
    first = SearchIndex(embedder=embedder, location=location)
    await first.start()
    await index_all(first, FILES)
    assert ids(await first.search(OOM_QUERY, owner_id=A))[0] == "fil_k8s"

    # Local mode allows one client per directory, even within one process.
    second = SearchIndex(embedder=embedder, location=location)
    with pytest.raises(SearchUnavailable, match="already accessed"):
        await second.start()
    await first.aclose()

    again = SearchIndex(embedder=embedder, location=location)
    await again.start()
    try:
        await again.check()
        assert ids(await again.search(OOM_QUERY, owner_id=A))[0] == "fil_k8s"
        await again.remove_file("fil_k8s")
        assert "fil_k8s" not in ids(await again.search(OOM_QUERY, owner_id=A))
    finally:
        await again.aclose()


async def test_an_embedder_of_another_size_is_refused(
    embedder: WordLlamaEmbedder, fake: FakeOpenAI, tmp_path: Path
) -> None:
    location = str(tmp_path / "qdrant")
    first = SearchIndex(embedder=embedder, location=location)
    await first.start()
    await index_all(first, FILES)
    await first.aclose()
    other = OpenAIEmbedder(fake.base_url, model="fake-model", api_key=fake.api_key)
    second = SearchIndex(embedder=other, location=location)
    await second.start()
    try:
        with pytest.raises(SearchUnavailable, match=r"256 dimensions.*makes 64"):
            await second.search(OOM_QUERY, owner_id=A)
        with pytest.raises(SearchUnavailable, match=r"256 dimensions.*makes 64"):
            await index_all(second, {"fil_new": "some text"})
    finally:
        await second.aclose()
        await other.aclose()


async def test_a_qdrant_server_that_is_down_raises_search_unavailable(
    embedder: WordLlamaEmbedder,
) -> None:
    search = SearchIndex(
        embedder=embedder, location=f"https://127.0.0.1:{free_port()}", api_key="qd-secret"
    )
    await search.start()
    try:
        with pytest.raises(SearchUnavailable, match=r"Qdrant at 127\.0\.0\.1:\d+") as failure:
            await search.check()
        assert "qd-secret" not in str(failure.value)
        with pytest.raises(SearchUnavailable):
            await search.search(OOM_QUERY, owner_id=A)
        with pytest.raises(SearchUnavailable):
            await index_all(search, FILES)
    finally:
        await search.aclose()


async def test_an_index_opens_on_first_use_and_locks_its_directory_only_then(
    embedder: WordLlamaEmbedder, tmp_path: Path
) -> None:
    first = SearchIndex(embedder=embedder, location=str(tmp_path / "q"))
    second = SearchIndex(embedder=embedder, location=str(tmp_path / "q"))
    try:
        await first.check()  # opens it, and local mode's lock with it
        assert await first.search("anything", owner_id="u") == []
        with pytest.raises(SearchUnavailable, match="already accessed"):
            await second.check()
    finally:
        await first.aclose()
        await second.aclose()


# An OpenAI-compatible embeddings endpoint ------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
async def test_openai_embedder_with_the_search_index(fake: FakeOpenAI, suffix: str) -> None:
    embedder = OpenAIEmbedder(
        fake.base_url + suffix, model="embed-small", api_key=fake.api_key, batch_size=4
    )
    search = SearchIndex(embedder=embedder, location=":memory:")
    await search.start()
    try:
        await index_all(search, FILES)
        # The fake's vectors are bags of words: shared words make texts near.
        found = await search.search("Kubernetes pod memory", owner_id=A)
    finally:
        await search.aclose()
        await embedder.aclose()

    assert ids(found)[0] == "fil_k8s"
    request = fake.embedding_requests[0]
    assert request.authorization == f"Bearer {fake.api_key}"
    assert request.body["model"] == "embed-small"
    assert request.body["encoding_format"] == "float"


async def test_openai_embedder_batches_and_keeps_the_order(fake: FakeOpenAI) -> None:
    embedder = OpenAIEmbedder(fake.base_url, model="m", api_key=fake.api_key, batch_size=2)
    texts = ["alpha", "beta", "gamma", "alpha beta", ""]
    try:
        vectors = await embedder.embed(texts)
        singles = [(await embedder.embed([text]))[0] for text in texts]
    finally:
        await embedder.aclose()

    assert [len(request.body["input"]) for request in fake.embedding_requests[:3]] == [2, 2, 1]
    assert vectors == singles
    assert all(len(vector) == fake.embedding_dim for vector in vectors)
    assert await embedder.embed([]) == []


async def test_openai_embedder_error_answers_raise_embeddings_unavailable(
    fake: FakeOpenAI,
) -> None:
    embedder = OpenAIEmbedder(fake.base_url, model="m", api_key=fake.api_key)
    try:
        fake.fail_status = 500
        fake.fail_message = f"model crashed while using key {fake.api_key}"
        with pytest.raises(EmbeddingsUnavailable, match="answered 500: model crashed") as failure:
            await embedder.embed(["hello"])
        assert fake.api_key is not None
        assert fake.api_key not in str(failure.value)
        assert "[redacted]" in str(failure.value)

        fake.fail_status = None
        fake.malformed_embeddings = True
        with pytest.raises(EmbeddingsUnavailable, match="malformed"):
            await embedder.embed(["hello"])
    finally:
        await embedder.aclose()

    wrong_key = OpenAIEmbedder(fake.base_url, model="m", api_key="sk-wrong-key")
    try:
        with pytest.raises(EmbeddingsUnavailable, match="answered 401") as failure:
            await wrong_key.embed(["hello"])
        assert "sk-wrong-key" not in str(failure.value)
    finally:
        await wrong_key.aclose()


async def test_openai_embedder_on_a_closed_port_raises_embeddings_unavailable() -> None:
    port = free_port()
    embedder = OpenAIEmbedder(f"http://user:pw@127.0.0.1:{port}", model="m", timeout=2)
    try:
        with pytest.raises(EmbeddingsUnavailable, match="unreachable") as failure:
            await embedder.embed(["hello"])
    finally:
        await embedder.aclose()

    assert f"127.0.0.1:{port}" in str(failure.value)
    assert "pw" not in str(failure.value)


async def test_index_file_fails_cleanly_when_the_embedder_is_down(fake: FakeOpenAI) -> None:
    embedder = OpenAIEmbedder(fake.base_url, model="m", api_key=fake.api_key)
    search = SearchIndex(embedder=embedder, location=":memory:")
    await search.start()
    try:
        await index_all(search, FILES)
        fake.fail_status = 503
        with pytest.raises(EmbeddingsUnavailable, match="503"):
            await index_all(search, {"fil_new": "new text"})
        with pytest.raises(EmbeddingsUnavailable, match="503"):
            await search.search("Kubernetes", owner_id=A)
        fake.fail_status = None
        assert ids(await search.search("Kubernetes pod memory", owner_id=A))[0] == "fil_k8s"
    finally:
        await search.aclose()
        await embedder.aclose()
