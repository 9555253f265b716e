"""K6 over HTTP: RATE_LIMITED carries an integer retryAfter; and the in-memory GCRA limiter.

The WebSocket half of K6 is tested with the subscriptions.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from kai.security import rate_limit
from kai.security.rate_limit import MemoryRateLimiter
from tests.support.apps import client_at, running_app
from tests.support.settings import make_settings

REQUEST_MAGIC_LINK = "mutation Ask($email: String!) { requestMagicLink(email: $email) }"
WINDOW = 60.0


class FakeClock:
    """Stands in for time.monotonic inside kai.security.rate_limit."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(rate_limit, "time", types.SimpleNamespace(monotonic=fake))
    return fake


# --- over HTTP ------------------------------------------------------------------------


async def test_k6_rate_limited_answer_carries_integer_retry_after(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url,
        tmp_path / "data",
        rate_limit_auth_per_ip=2,
        rate_limit_auth_window_seconds=WINDOW,
    )
    async with running_app(settings) as app, client_at(app) as client:
        answers = [
            await client.execute(REQUEST_MAGIC_LINK, {"email": f"u{i}@example.com"})
            for i in range(3)
        ]

    assert [answer.data for answer in answers[:2]] == [{"requestMagicLink": True}] * 2
    limited = answers[2]
    assert limited.codes == ["RATE_LIMITED"]
    retry_after = limited.errors[0]["extensions"]["retryAfter"]
    assert type(retry_after) is int
    assert 1 <= retry_after <= WINDOW


# --- MemoryRateLimiter ----------------------------------------------------------------


async def test_k6_memory_limiter_allows_limit_hits_then_refuses(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter()

    waits = [await limiter.hit("k", limit=3, window=WINDOW) for _ in range(4)]

    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0 < waits[3] <= WINDOW


async def test_k6_memory_limiter_allows_the_limit_again_after_the_window(
    clock: FakeClock,
) -> None:
    limiter = MemoryRateLimiter()
    for _ in range(3):
        assert await limiter.hit("k", limit=3, window=WINDOW) == 0.0
    assert await limiter.hit("k", limit=3, window=WINDOW) > 0

    clock.now += WINDOW
    waits = [await limiter.hit("k", limit=3, window=WINDOW) for _ in range(4)]

    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] > 0


async def test_k6_memory_limiter_wait_is_exactly_long_enough(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter()
    for _ in range(3):
        await limiter.hit("k", limit=3, window=WINDOW)
    refused_at = clock.now
    wait = await limiter.hit("k", limit=3, window=WINDOW)

    clock.now = refused_at + wait - 0.5
    too_early = await limiter.hit("k", limit=3, window=WINDOW)
    clock.now = refused_at + wait
    on_time = await limiter.hit("k", limit=3, window=WINDOW)

    # Refused hits do not use up budget: the wait promised still holds.
    assert too_early > 0
    assert on_time == 0.0


async def test_k6_memory_limiter_counts_each_key_apart(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter()
    for _ in range(2):
        await limiter.hit("a", limit=2, window=WINDOW)

    assert await limiter.hit("a", limit=2, window=WINDOW) > 0
    assert await limiter.hit("b", limit=2, window=WINDOW) == 0.0
