"""Rate limits per operation family (K6): per principal or client IP, per root field, in Redis.

The sign-in throttling (A8) is tested in tests/test_security_rate_limit.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.websockets import WebSocket

from kai.app import create_app
from kai.config import Settings
from kai.graphql.extensions.rate_limits import family_of, root_fields
from kai.security.client_ip import client_ip
from kai.security.rate_limit import Bucket, MemoryRateLimiter
from kai.security.rate_limit_redis import RedisRateLimiter
from tests.support.agents import AGENTS, CREATE, signed_in
from tests.support.apps import client_at, running_app, services_of
from tests.support.databases import postgres_database
from tests.support.files import PNG
from tests.support.graphql_client import GraphQLClient, Result, nodes
from tests.support.redis_server import RedisProcess, redis_process, redis_url_or_skip
from tests.support.servers import clean_env, kai_serve, serve_app
from tests.support.settings import TEST_SECRET, make_settings
from tests.support.uploads import upload
from tests.support.ws_client import PROTOCOLS, ws_connect

ME = "{ me { id } }"
ME_2 = "{ a: me { id } b: me { id } }"
ME_3 = "{ a: me { id } b: me { id } c: me { id } }"
EVENTS = "subscription Events($agentId: ID!) { agentEvents(agentId: $agentId, after: 0) { seq } }"
WINDOW = 60.0
PROXY = "10.1.2.3"


def aliased_creates(count: int) -> str:
    fields = " ".join(
        f'a{i}: createAgent(input: {{name: "bulk-{i}", type: "echo"}}) {{ id }}'
        for i in range(count)
    )
    return f"mutation {{ {fields} }}"


def assert_rate_limited(result: Result) -> int:
    """The refusal's shape: RATE_LIMITED with a whole number of seconds, nothing run."""
    assert result.status == 200, result.body
    assert result.codes == ["RATE_LIMITED"], result.body
    assert result.data is None, result.body
    retry_after = result.errors[0]["extensions"]["retryAfter"]
    assert type(retry_after) is int
    assert 1 <= retry_after <= WINDOW
    return retry_after


@asynccontextmanager
async def limited_app(database_url: str, tmp_path: Path, **limits: Any) -> AsyncIterator[Any]:
    """The app with these budgets (rate_limit_<family>_per_minute=...); the rest unlimited."""
    overrides: dict[str, Any] = {
        f"rate_limit_{family}_per_minute": 0
        for family in ("query", "mutation", "subscribe", "upload", "agent", "anonymous")
    }
    overrides.update(limits)
    settings = make_settings(database_url, tmp_path / "data", **overrides)
    async with running_app(settings) as app:
        yield app


# --- counted per root field, refused whole, before anything runs ----------------------


async def test_each_root_field_costs_one_so_aliases_cannot_multiply_calls(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        limited_app(database_url, tmp_path, rate_limit_query_per_minute=5) as app,
        client_at(app) as client,
    ):
        token = await signed_in(client)
        first = await client.execute(ME_3, token=token)  # 3 of 5
        refused = await client.execute(ME_3, token=token)  # 3 more do not fit
        two = await client.execute(ME_2, token=token)  # 5 of 5
        one_more = await client.execute(ME, token=token)

    assert set(first.ok()) == {"a", "b", "c"}
    assert_rate_limited(refused)
    assert set(two.ok()) == {"a", "b"}  # the refused operation spent nothing
    assert_rate_limited(one_more)


async def test_fragments_and_repeated_fields_count_by_response_key(
    sqlite_url: str, tmp_path: Path
) -> None:
    spread = "query { ...Twice } fragment Twice on Query { a: me { id } b: me { id } }"
    async with (
        limited_app(sqlite_url, tmp_path, rate_limit_query_per_minute=3) as app,
        client_at(app) as client,
    ):
        token = await signed_in(client)
        merged = await client.execute("{ me { id } me { id } }", token=token)  # one field: 1
        skipped = await client.execute("{ me { id } x: me @skip(if: true) { id } }", token=token)
        spread_over = await client.execute(spread, token=token)  # 2 more than the 1 left

    assert merged.ok()["me"]["id"]
    assert skipped.ok() == {"me": merged.data["me"]}
    assert_rate_limited(spread_over)


async def test_a_refused_mutation_runs_none_of_its_fields(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        limited_app(database_url, tmp_path, rate_limit_mutation_per_minute=3) as app,
        client_at(app) as client,
    ):
        token = await signed_in(client)
        too_many = await client.execute(aliased_creates(4), token=token)
        after_refusal = nodes((await client.execute(AGENTS, token=token)).ok()["agents"])
        three = await client.execute(aliased_creates(3), token=token)
        again = await client.execute(aliased_creates(1), token=token)
        agents = nodes((await client.execute(AGENTS, token=token)).ok()["agents"])

    assert_rate_limited(too_many)
    assert after_refusal == []
    assert len(three.ok()) == 3
    assert_rate_limited(again)
    assert sorted(agent["name"] for agent in agents) == ["bulk-0", "bulk-1", "bulk-2"]


async def test_a_limit_of_zero_is_unlimited(sqlite_url: str, tmp_path: Path) -> None:
    async with limited_app(sqlite_url, tmp_path) as app, client_at(app) as client:
        token = await signed_in(client)
        results = [await client.execute(ME_3, token=token) for _ in range(20)]

    assert all(result.ok() for result in results)


# --- families ------------------------------------------------------------------------


async def test_families_have_budgets_of_their_own(sqlite_url: str, tmp_path: Path) -> None:
    async with (
        limited_app(
            sqlite_url, tmp_path, rate_limit_query_per_minute=1, rate_limit_mutation_per_minute=1
        ) as app,
        client_at(app) as client,
    ):
        token = await signed_in(client)
        query = await client.execute(ME, token=token)
        query_again = await client.execute(ME, token=token)
        mutation = await client.execute(aliased_creates(1), token=token)
        mutation_again = await client.execute(aliased_creates(1), token=token)
        # Sign-in is throttled on its own (A8), not counted as mutations.
        logins = [await client.login("owner@example.com") for _ in range(3)]

    query.ok()
    assert_rate_limited(query_again)
    mutation.ok()
    assert_rate_limited(mutation_again)
    assert all(login["accessToken"] for login in logins)


async def test_uploads_count_as_uploads_not_mutations(sqlite_url: str, tmp_path: Path) -> None:
    async with (
        limited_app(
            sqlite_url, tmp_path, rate_limit_upload_per_minute=1, rate_limit_mutation_per_minute=1
        ) as app,
        client_at(app) as client,
    ):
        token = await signed_in(client)
        first = await upload(client, token, PNG, filename="a.png", content_type="image/png")
        mutation = await client.execute(aliased_creates(1), token=token)
        second = await upload(client, token, PNG, filename="b.png", content_type="image/png")
        listed = "{ files { edges { node { originalName } } } }"
        files = nodes((await client.execute(listed, token=token)).ok()["files"])

    assert first.ok()["uploadFile"]["mimeType"] == "image/png"
    mutation.ok()
    assert_rate_limited(second)
    assert [file["originalName"] for file in files] == ["a.png"]


@pytest.mark.parametrize(
    ("document", "variables", "costs"),
    [
        ("{ me { id } agents { totalCount } }", None, {"query": 2}),
        ("{ a: me { id } a: me { email } b: __typename }", None, {"query": 2}),
        (
            'mutation { login(input: {email: "a@b.c", password: "x"}) { accessToken }'
            ' u: uploadFile(file: null) { id } createAgent(input: {name: "n", type: "echo"})'
            ' { id } agentStreamChunk(messageId: "m", delta: "d") logout }',
            None,
            {"mutation": 2, "upload": 1, "agent": 1},
        ),
        ('subscription { agentEvents(agentId: "a") { seq } }', None, {"subscribe": 1}),
        (
            "query Q($skip: Boolean = true, $keep: Boolean!) {"
            " a: me @skip(if: $skip) { id } b: me @include(if: $keep) { id }"
            " c: me @include(if: false) { id } ... on Query { d: me { id } } }",
            {"keep": True},
            {"query": 2},  # b and d
        ),
        (
            "query Q($keep: Boolean) { a: me @include(if: $keep) { id } }",
            {},
            {"query": 1},  # unknown: it counts, as it might run
        ),
    ],
)
def test_root_fields_are_counted_per_family(
    document: str, variables: dict[str, Any] | None, costs: dict[str, int]
) -> None:
    found = root_fields(parse(document), None, variables)
    assert found is not None
    operation, fields = found

    counted = Counter(family for f in fields if (family := family_of(operation, f)) is not None)

    assert counted == costs


# --- whose budget --------------------------------------------------------------------


async def test_a_user_has_one_budget_from_any_address_and_each_api_key_its_own(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        limited_app(database_url, tmp_path, rate_limit_query_per_minute=2) as app,
        client_at(app, "203.0.113.7") as here,
        client_at(app, "198.51.100.9") as there,
    ):
        ada = await signed_in(here, "ada@example.com")
        bob = await signed_in(here, "bob@example.com")
        key = (await here.create_api_key(ada))["secret"]
        spent = [await here.execute(ME, token=ada) for _ in range(2)]
        ada_elsewhere = await there.execute(ME, token=ada)
        ada_new_session = (await there.login("ada@example.com"))["accessToken"]
        ada_again = await there.execute(ME, token=ada_new_session)
        bob_here = await here.execute(ME_2, token=bob)
        with_key = [await here.execute(ME, token=key) for _ in range(3)]

    assert all(result.ok() for result in spent)
    assert_rate_limited(ada_elsewhere)
    assert_rate_limited(ada_again)  # every session of a user shares the user's budget
    assert len(bob_here.ok()) == 2
    assert [bool(result.ok()) for result in with_key[:2]] == [True, True]
    assert_rate_limited(with_key[2])


async def test_anonymous_calls_share_a_budget_per_client_ip(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with (
        limited_app(sqlite_url, tmp_path, rate_limit_anonymous_per_minute=2) as app,
        client_at(app, "203.0.113.7") as here,
        client_at(app, "198.51.100.9") as there,
    ):
        spent = [await here.execute(ME) for _ in range(2)]
        refused = await here.execute(ME)
        elsewhere = await there.execute(ME)
        token = await signed_in(here)
        signed_in_here = await here.execute(ME, token=token)

    assert [result.ok() for result in spent] == [{"me": None}] * 2
    assert_rate_limited(refused)
    assert elsewhere.ok() == {"me": None}
    assert signed_in_here.ok()["me"]["id"]


async def test_documents_refused_before_they_run_spend_the_budget_too(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A document that does not parse or validate costs a request (docs/security.md C2)."""
    async with (
        limited_app(sqlite_url, tmp_path, rate_limit_anonymous_per_minute=2) as app,
        client_at(app, "203.0.113.7") as here,
        client_at(app, "198.51.100.9") as there,
    ):
        invalid = await here.execute("{ nope }")
        unparsable = await here.execute("{ me { id ")
        refused = await here.execute(ME)
        invalid_again = await here.execute("{ nope }")
        elsewhere = await there.execute(ME)

    assert invalid.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert unparsable.codes == ["GRAPHQL_PARSE_FAILED"]
    assert_rate_limited(refused)
    assert invalid_again.codes == ["RATE_LIMITED"]
    assert elsewhere.ok() == {"me": None}


async def test_bad_credentials_are_unauthenticated_and_spend_the_ip_budget(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        limited_app(database_url, tmp_path, rate_limit_anonymous_per_minute=3) as app,
        client_at(app) as client,
        client_at(app, "198.51.100.9") as elsewhere,
    ):
        token = await signed_in(client)
        sprayed = [await client.execute(ME, token=f"kai_guess{i}") for i in range(3)]
        refused = await client.execute(ME, token="kai_guess3")
        anonymous = await client.execute(ME)
        signed = await client.execute(ME, token=token)
        other_ip = await elsewhere.execute(ME, token="kai_guess4")

    assert [result.codes for result in sprayed] == [["UNAUTHENTICATED"]] * 3
    assert_rate_limited(refused)
    assert_rate_limited(anonymous)
    assert signed.ok()["me"]["id"]
    assert other_ip.codes == ["UNAUTHENTICATED"]


# --- subscriptions over a real WebSocket ---------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_each_subscribe_counts_against_the_subscribe_budget(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    settings = make_settings(
        sqlite_url,
        tmp_path / "data",
        rate_limit_subscribe_per_minute=2,
        rate_limit_query_per_minute=0,
        rate_limit_mutation_per_minute=0,
    )
    async with serve_app(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        client = GraphQLClient(http)
        token = await signed_in(client)
        agent = await client.execute(CREATE, {"input": {"name": "e", "type": "echo"}}, token=token)
        agent_id = agent.ok()["createAgent"]["id"]
        async with ws_connect(url, protocol, token=token) as ws:
            ops = [await ws.subscribe(EVENTS, {"agentId": agent_id}) for _ in range(2)]
            for op in ops:
                assert (await ws.next(op))["agentEvents"]["seq"] == 1
            refused = await ws.subscribe(EVENTS, {"agentId": agent_id})
            answer = await ws.receive(refused)
            await ws.alive()  # the socket stays open
        # The budget is the user's, not the socket's.
        async with ws_connect(url, protocol, token=token) as other:
            refused_too = await other.receive(await other.subscribe(EVENTS, {"agentId": agent_id}))

    for message in (answer, refused_too):
        assert message.codes == ["RATE_LIMITED"], message
        retry_after = message.errors[0]["extensions"]["retryAfter"]
        assert type(retry_after) is int and retry_after >= 1


# --- the client IP and trusted proxies ------------------------------------------------


def http_connection(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 40000), "headers": headers})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # No trusted proxies: the header is anyone's to write, and ignored.
        ("203.0.113.7", ["198.51.100.1"], [], "203.0.113.7"),
        # A peer that is not a trusted proxy: ignored too.
        ("203.0.113.7", ["198.51.100.1"], ["10.0.0.0/8"], "203.0.113.7"),
        # From a trusted proxy: the right-most address that is not a proxy.
        (PROXY, ["198.51.100.1"], ["10.0.0.0/8"], "198.51.100.1"),
        (PROXY, ["6.6.6.6, 198.51.100.1, 10.0.0.5"], ["10.0.0.0/8"], "198.51.100.1"),
        (PROXY, ["6.6.6.6", "198.51.100.1"], ["10.0.0.0/8"], "198.51.100.1"),
        (PROXY, ["6.6.6.6,198.51.100.1"], [PROXY, "10.0.0.5"], "198.51.100.1"),
        # Garbage ends the walk at the last address a trusted proxy vouched for.
        (PROXY, ["198.51.100.1, not-an-ip, 10.0.0.5"], ["10.0.0.0/8"], "10.0.0.5"),
        # Nothing forwarded, or only proxies: the proxy nearest the client.
        (PROXY, [], ["10.0.0.0/8"], PROXY),
        (PROXY, ["10.0.0.9, 10.0.0.5"], ["10.0.0.0/8"], "10.0.0.9"),
        ("2001:db8::1", ["[2001:db8:1::7]:443"], ["2001:db8::/64"], "2001:db8:1::7"),
        ("::ffff:10.1.2.3", ["198.51.100.1:5555"], ["10.0.0.0/8"], "198.51.100.1"),
    ],
)
def test_client_ip_believes_x_forwarded_for_only_from_trusted_proxies(
    peer: str, forwarded: list[str], trusted: list[str], expected: str
) -> None:
    assert client_ip(http_connection(peer, *forwarded), trusted) == expected


def test_client_ip_of_a_websocket_comes_from_trusted_proxies_too() -> None:
    scope = {
        "type": "websocket",
        "client": (PROXY, 40000),
        "headers": [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.1")],
    }

    async def receive() -> Any:
        raise AssertionError

    async def send(message: Any) -> None:
        raise AssertionError

    socket = WebSocket(scope, receive, send)

    assert client_ip(socket, ["10.0.0.0/8"]) == "198.51.100.1"
    assert client_ip(socket, []) == PROXY


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    settings = Settings(_env_file=None, trusted_proxies="10.0.0.0/8, 192.0.2.1")
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    with pytest.raises(ValueError, match="not-a-proxy"):
        Settings(_env_file=None, trusted_proxies="10.0.0.0/8,not-a-proxy")


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with (
        limited_app(
            sqlite_url, tmp_path, rate_limit_anonymous_per_minute=1, trusted_proxies=["10.0.0.0/8"]
        ) as app,
        client_at(app, PROXY) as proxy,
        client_at(app, "203.0.113.7") as spoofer,
    ):

        async def via_proxy(chain: str) -> Result:
            return await proxy.execute(ME, headers={"x-forwarded-for": chain})

        first = await via_proxy("198.51.100.1")
        forged_prefix = await via_proxy("6.6.6.6, 198.51.100.1")  # still 198.51.100.1
        second_client = await via_proxy("198.51.100.2")
        # Not from a trusted proxy: a new X-Forwarded-For each time changes nothing.
        spoofed = [
            await spoofer.execute(ME, headers={"x-forwarded-for": f"192.0.2.{i}"}) for i in range(2)
        ]

    assert first.ok() == {"me": None}
    assert_rate_limited(forged_prefix)
    assert second_client.ok() == {"me": None}
    assert spoofed[0].ok() == {"me": None}
    assert_rate_limited(spoofed[1])


# --- the in-memory limiter with costs and several buckets ------------------------------


async def test_memory_limiter_charges_several_buckets_all_or_nothing() -> None:
    limiter = MemoryRateLimiter()
    small, large = Bucket("small", 2, WINDOW, 2), Bucket("large", 10, WINDOW, 2)

    assert await limiter.hit_all([small, large]) == 0.0
    assert await limiter.hit_all([Bucket("small", 2, WINDOW), Bucket("large", 10, WINDOW)]) > 0
    # The refusal charged "large" nothing: 8 of its 10 are left.
    assert await limiter.hit("large", limit=10, window=WINDOW, cost=8) == 0.0
    assert await limiter.hit("large", limit=10, window=WINDOW) > 0


# --- the Redis limiter -----------------------------------------------------------------


@pytest.fixture
async def redis_limiter() -> AsyncIterator[tuple[RedisRateLimiter, Redis, str]]:
    """A limiter on the shared test Redis, under a key prefix of this test's own."""
    url = redis_url_or_skip()
    prefix = f"kai-test:{uuid.uuid4().hex}:"
    limiter = RedisRateLimiter(url, prefix=prefix)
    redis = Redis.from_url(url)
    try:
        yield limiter, redis, prefix
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await limiter.aclose()


async def test_redis_limiter_allows_the_limit_then_says_how_long_to_wait(
    redis_limiter: tuple[RedisRateLimiter, Redis, str],
) -> None:
    limiter, _redis, _prefix = redis_limiter

    waits = [await limiter.hit("k", limit=3, window=WINDOW) for _ in range(4)]

    assert waits[:3] == [0.0, 0.0, 0.0]
    # One hit comes back every window / limit seconds.
    assert WINDOW / 3 - 1 < waits[3] <= WINDOW / 3
    assert not limiter.using_fallback


async def test_redis_limiter_charges_a_cost_in_one_step_or_not_at_all(
    redis_limiter: tuple[RedisRateLimiter, Redis, str],
) -> None:
    limiter, _redis, _prefix = redis_limiter

    assert await limiter.hit("k", limit=5, window=WINDOW, cost=3) == 0.0
    assert await limiter.hit("k", limit=5, window=WINDOW, cost=3) > 0
    assert await limiter.hit("k", limit=5, window=WINDOW, cost=2) == 0.0
    assert await limiter.hit("k", limit=5, window=WINDOW) > 0
    assert await limiter.hit("k", limit=5, window=WINDOW, cost=6) > 0  # never fits


async def test_redis_limiter_charges_several_buckets_all_or_nothing(
    redis_limiter: tuple[RedisRateLimiter, Redis, str],
) -> None:
    limiter, redis, prefix = redis_limiter
    small, large = Bucket("small", 2, WINDOW, 2), Bucket("large", 10, WINDOW, 2)

    assert await limiter.hit_all([small, large]) == 0.0
    stored = await redis.get(f"{prefix}large")
    assert await limiter.hit_all([Bucket("small", 2, WINDOW), Bucket("large", 10, WINDOW)]) > 0

    assert await redis.get(f"{prefix}large") == stored  # the refusal charged nothing
    assert await limiter.hit("large", limit=10, window=WINDOW, cost=8) == 0.0
    assert await limiter.hit("large", limit=10, window=WINDOW) > 0


async def test_redis_limiter_keys_expire_once_the_budget_is_full_again(
    redis_limiter: tuple[RedisRateLimiter, Redis, str],
) -> None:
    limiter, redis, prefix = redis_limiter

    await limiter.hit("one", limit=10, window=WINDOW)  # full again after 6 s
    await limiter.hit("all", limit=10, window=WINDOW, cost=10)  # after 60 s
    await limiter.hit("short", limit=2, window=0.2)

    assert 5_000 < await redis.pttl(f"{prefix}one") <= 6_000
    assert 59_000 < await redis.pttl(f"{prefix}all") <= 60_000
    await asyncio.sleep(0.25)
    assert await redis.exists(f"{prefix}short") == 0


async def test_redis_limiters_of_two_processes_share_one_budget(
    redis_limiter: tuple[RedisRateLimiter, Redis, str],
) -> None:
    limiter, _redis, prefix = redis_limiter
    other = RedisRateLimiter(redis_url_or_skip(), prefix=prefix)
    try:
        assert await limiter.hit("k", limit=2, window=WINDOW) == 0.0
        assert await other.hit("k", limit=2, window=WINDOW) == 0.0
        assert await limiter.hit("k", limit=2, window=WINDOW) > 0
        assert await other.hit("k", limit=2, window=WINDOW) > 0
    finally:
        await other.aclose()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    directory = tmp_path / "redis"
    directory.mkdir()
    with redis_process(directory) as server:
        yield server


@pytest.mark.slow
async def test_redis_limiter_falls_back_in_process_while_redis_is_down_and_comes_back(
    own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RedisRateLimiter(own_redis.url, prefix="t:", retry_seconds=0.2)
    redis = Redis.from_url(own_redis.url)
    try:
        assert await limiter.hit("k", limit=3, window=WINDOW) == 0.0
        assert await redis.exists("t:k") == 1

        own_redis.kill()
        with caplog.at_level(logging.WARNING, logger="kai.security.rate_limit_redis"):
            down = [await limiter.hit("k", limit=3, window=WINDOW) for _ in range(4)]
            await asyncio.sleep(0.25)  # past retry_seconds: Redis is tried again, still down
            down.append(await limiter.hit("other", limit=3, window=WINDOW))
        assert limiter.using_fallback
        # This process counts on its own: 3 allowed, then refused; never an exception.
        assert down[:3] == [0.0, 0.0, 0.0]
        assert down[3] > 0
        assert down[4] == 0.0
        warnings = [r for r in caplog.records if "does not answer" in r.getMessage()]
        assert len(warnings) == 1  # at most one a minute

        own_redis.start()  # empty: no keys, no scripts loaded (EVALSHA falls back to loading)
        await asyncio.sleep(0.25)
        assert await limiter.hit("k", limit=3, window=WINDOW) == 0.0
        assert not limiter.using_fallback
        await redis.connection_pool.disconnect()  # this test's own connection did not survive
        assert await redis.exists("t:k") == 1
    finally:
        await redis.aclose()
        await limiter.aclose()


@pytest.mark.slow
async def test_requests_are_answered_while_redis_is_down(
    sqlite_url: str, tmp_path: Path, own_redis: RedisProcess
) -> None:
    settings = make_settings(
        sqlite_url,
        tmp_path / "data",
        redis_url=own_redis.url,
        rate_limit_query_per_minute=2,
    )
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        assert (await client.execute(ME, token=token)).ok()
        own_redis.kill()
        try:
            during = [await client.execute(ME, token=token) for _ in range(3)]
        finally:
            own_redis.start()  # the app's other Redis users stop cleanly
        limiter = services_of(app).rate_limiter
        assert isinstance(limiter, RedisRateLimiter) and limiter.using_fallback

    # Counted in this process meanwhile (a fresh budget of 2), never INTERNAL_SERVER_ERROR.
    assert [result.codes for result in during] == [[], [], ["RATE_LIMITED"]]


# --- two replicas sharing Redis ---------------------------------------------------------


@contextmanager
def replicas(*envs: dict[str, str]) -> Iterator[list[str]]:
    """`kai serve` processes started side by side (each takes seconds); yields their URLs."""
    managers = [kai_serve(env) for env in envs]
    with ThreadPoolExecutor(len(managers)) as pool, ExitStack() as stack:
        futures = [pool.submit(manager.__enter__) for manager in managers]
        urls: list[str] = []
        failures: list[BaseException] = []
        for manager, future in zip(managers, futures, strict=True):
            try:
                url, _process = future.result()
            except Exception as exc:
                failures.append(exc)
            else:
                stack.push(manager.__exit__)
                urls.append(url)
        if failures:
            raise failures[0]
        yield urls


@pytest.mark.slow
async def test_a_second_replica_sees_the_budget_the_first_spent(
    own_redis: RedisProcess, tmp_path: Path, postgres_template: str | None
) -> None:
    async with postgres_database(template=postgres_template) as database_url:

        def env(name: str) -> dict[str, str]:
            return clean_env(
                KAI_DATABASE_URL=database_url,
                KAI_REDIS_URL=own_redis.url,
                KAI_JWT_SECRET=TEST_SECRET,
                KAI_DATA_DIR=str(tmp_path / name),
                KAI_RATE_LIMIT_QUERY_PER_MINUTE="4",
                KAI_RATE_LIMIT_ANONYMOUS_PER_MINUTE="2",
            )

        with replicas(env("a"), env("b")) as (url_a, url_b):
            async with (
                httpx.AsyncClient(base_url=url_a, timeout=15) as http_a,
                httpx.AsyncClient(base_url=url_b, timeout=15) as http_b,
            ):
                a, b = GraphQLClient(http_a), GraphQLClient(http_b)
                token = await signed_in(a)
                spent_on_a = await a.execute(ME_3, token=token)  # 3 of 4
                two_on_b = await b.execute(ME_2, token=token)
                last_on_b = await b.execute(ME, token=token)  # 4 of 4
                again_on_a = await a.execute(ME, token=token)
                anonymous = [await a.execute(ME), await b.execute(ME), await b.execute(ME)]

    assert len(spent_on_a.ok()) == 3
    assert_rate_limited(two_on_b)
    assert last_on_b.ok()["me"]["id"]
    assert_rate_limited(again_on_a)
    assert [result.codes for result in anonymous[:2]] == [[], []]
    assert_rate_limited(anonymous[2])
