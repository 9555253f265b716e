"""EventHub on memory:// and on a real Redis: fan-out, bounded buffers, and what happens
when Redis goes away (killed, frozen, restarted) or another process fails to publish."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from kai.events.hub import Closed, EventHub, Interrupted, Overflow, Subscription
from kai.events.subscription import offer_all
from tests.support.redis_server import RedisProcess, redis_process, redis_url_or_skip
from tests.support.servers import free_port

WAIT = 10.0


def channel_name() -> str:
    return f"test:{uuid.uuid4().hex}"


@pytest.fixture(params=["memory", "redis"])
def hub_url(request: pytest.FixtureRequest) -> str:
    return "memory://" if request.param == "memory" else redis_url_or_skip()


@pytest.fixture
def redis_url() -> str:
    return redis_url_or_skip()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of this test's own, to kill, freeze and restart."""
    with redis_process(tmp_path) as server:
        yield server


@pytest.fixture
async def hubs() -> AsyncIterator[HubFactory]:
    factory = HubFactory()
    async with factory.stack:
        yield factory


class HubFactory:
    """Starts hubs for a test; stops every one afterwards, each bounded in time."""

    def __init__(self) -> None:
        self.stack = AsyncExitStack()

    async def __call__(self, url: str, **options: Any) -> EventHub:
        hub = EventHub(url, **options)
        await hub.start()
        self.stack.push_async_callback(self.stop, hub)
        return hub

    @staticmethod
    async def stop(hub: EventHub) -> None:
        started = time.monotonic()
        await asyncio.wait_for(hub.stop(), WAIT)
        assert time.monotonic() - started < 1, "stop() took too long"


async def receive(subscription: Subscription, seconds: float = WAIT) -> dict[str, Any]:
    return await asyncio.wait_for(subscription.get(), seconds)


async def interrupted(subscription: Subscription, seconds: float = WAIT) -> None:
    with pytest.raises(Interrupted):
        await receive(subscription, seconds)


async def live(subscription: Subscription, seconds: float = WAIT) -> dict[str, Any]:
    """The next message, past any Interrupted (other hubs' catch-up calls may follow one)."""
    async with asyncio.timeout(seconds):
        while True:
            with contextlib.suppress(Interrupted):
                return await subscription.get()


async def nothing_pending(subscription: Subscription) -> None:
    with pytest.raises(TimeoutError):
        await receive(subscription, 0.2)


async def eventually(condition: Any, seconds: float = WAIT) -> float:
    """Seconds until `condition()` holds; fails after `seconds`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "condition never held"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


# Both backends.


async def test_a_message_reaches_every_subscriber_of_its_channel_only(
    hub_url: str, hubs: HubFactory
) -> None:
    hub = await hubs(hub_url)
    a, b = channel_name(), channel_name()

    async with hub.subscribe(a) as first, hub.subscribe(a) as second, hub.subscribe(b) as other:
        assert await hub.publish(a, {"n": 1}) is True

        assert await receive(first) == {"n": 1}
        assert await receive(second) == {"n": 1}
        await nothing_pending(other)


async def test_messages_arrive_in_the_order_they_were_published(
    hub_url: str, hubs: HubFactory
) -> None:
    hub = await hubs(hub_url)
    channel = channel_name()

    async with hub.subscribe(channel) as subscription:
        for n in range(200):
            assert await hub.publish(channel, {"n": n})

        assert [(await receive(subscription))["n"] for _ in range(200)] == list(range(200))


async def test_a_slow_subscriber_is_cut_off_and_the_others_keep_going(
    hub_url: str, hubs: HubFactory
) -> None:
    hub = await hubs(hub_url, buffer_size=5)
    channel = channel_name()

    async with hub.subscribe(channel) as slow, hub.subscribe(channel) as fast:
        for n in range(12):
            await hub.publish(channel, {"n": n})
            assert (await receive(fast))["n"] == n

        with pytest.raises(Overflow):
            await receive(slow)
        with pytest.raises(Overflow):  # and stays cut off
            await receive(slow)


async def test_stop_ends_every_subscription_with_closed(hub_url: str) -> None:
    hub = EventHub(hub_url)
    await hub.start()
    channel = channel_name()

    async with hub.subscribe(channel) as subscription:
        await asyncio.wait_for(hub.stop(), WAIT)

        with pytest.raises(Closed):
            await receive(subscription)
    with pytest.raises(Closed):
        async with hub.subscribe(channel):
            pass
    assert await hub.publish(channel, {"n": 1}) is False


def test_an_unknown_broker_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="nats"):
        EventHub("nats://127.0.0.1:4222")


def test_an_unread_interrupted_is_not_queued_twice() -> None:
    async def scenario() -> None:
        subscription = Subscription(10)
        subscription.signal(Interrupted())
        subscription.offer({"n": 1})
        subscription.signal(Interrupted())

        with pytest.raises(Interrupted):
            await subscription.get()
        assert await subscription.get() == {"n": 1}
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(subscription.get(), 0.05)

        subscription.signal(Interrupted())  # read, so a new one counts again
        with pytest.raises(Interrupted):
            await subscription.get()

    asyncio.run(scenario())


# Redis: several processes, one broker.


async def test_two_hubs_on_one_redis_hear_each_other(redis_url: str, hubs: HubFactory) -> None:
    a, b = await hubs(redis_url), await hubs(redis_url)
    channel = channel_name()

    async with a.subscribe(channel) as on_a, b.subscribe(channel) as on_b:
        assert await b.publish(channel, {"from": "b"})
        assert await a.publish(channel, {"from": "a"})

        assert [await receive(on_a), await receive(on_a)] == [{"from": "b"}, {"from": "a"}]
        assert [await receive(on_b), await receive(on_b)] == [{"from": "b"}, {"from": "a"}]


async def test_a_message_published_right_after_subscribe_returns_is_delivered(
    redis_url: str, hubs: HubFactory
) -> None:
    """subscribe() returns only once Redis has confirmed: no window to lose a message in."""
    a, b = await hubs(redis_url), await hubs(redis_url)

    for n in range(30):
        channel = channel_name()
        async with a.subscribe(channel) as subscription:
            assert await b.publish(channel, {"n": n})
            assert await receive(subscription, 2) == {"n": n}


async def test_a_channel_is_released_on_redis_when_its_last_subscriber_leaves(
    redis_url: str, hubs: HubFactory
) -> None:
    hub = await hubs(redis_url)
    channel = channel_name()
    redis = Redis.from_url(redis_url)

    async def subscribers_on_redis() -> int:
        counts = await redis.pubsub_numsub(channel)
        return int(counts[0][1])

    try:
        async with hub.subscribe(channel), hub.subscribe(channel):
            assert await subscribers_on_redis() == 1  # one per process, however many local
        deadline = time.monotonic() + WAIT
        while await subscribers_on_redis() != 0:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        # ... and taken again by the next subscriber.
        async with hub.subscribe(channel) as subscription:
            assert await subscribers_on_redis() == 1
            await hub.publish(channel, {"n": 1})
            assert await receive(subscription) == {"n": 1}
    finally:
        await redis.aclose()


async def test_start_fails_fast_when_redis_is_unreachable() -> None:
    hub = EventHub(f"redis://127.0.0.1:{free_port()}")
    started = time.monotonic()

    with pytest.raises(ConnectionError):
        await hub.start()

    assert time.monotonic() - started < 2
    assert not hub.connected


@pytest.mark.slow
async def test_after_a_redis_restart_the_hub_reconnects_and_interrupts_then_goes_live(
    own_redis: RedisProcess, hubs: HubFactory
) -> None:
    a, b = await hubs(own_redis.url), await hubs(own_redis.url)
    channel, idle, late = channel_name(), channel_name(), channel_name()

    async with AsyncExitStack() as stack:
        subscription = await stack.enter_async_context(a.subscribe(channel))
        idle_subscription = await stack.enter_async_context(a.subscribe(idle))
        assert await b.publish(channel, {"n": 1})
        assert await receive(subscription) == {"n": 1}

        own_redis.kill()
        await eventually(lambda: not a.connected and not b.connected)
        started = time.monotonic()
        assert await b.publish(channel, {"n": 2}) is False  # no exception, no wait
        assert time.monotonic() - started < 2  # not the 5 s operation timeout
        # Subscribing meanwhile does not wait for Redis; it is interrupted once back.
        late_subscription = await asyncio.wait_for(stack.enter_async_context(a.subscribe(late)), 1)
        await asyncio.sleep(0.5)
        own_redis.start()
        restarted = time.monotonic()

        await interrupted(subscription)
        reconnect_seconds = time.monotonic() - restarted
        await interrupted(idle_subscription)
        await interrupted(late_subscription)
        await eventually(lambda: b.connected)
        assert await b.publish(channel, {"n": 3})
        assert await b.publish(late, {"n": 4})
        assert await live(subscription) == {"n": 3}
        assert await live(late_subscription) == {"n": 4}

    assert a.reconnects == 1
    assert reconnect_seconds < 3, reconnect_seconds
    print(f"subscribers interrupted {reconnect_seconds:.2f} s after Redis came back")


@pytest.mark.slow
async def test_a_hub_keeps_retrying_through_a_long_outage(
    own_redis: RedisProcess, hubs: HubFactory
) -> None:
    hub = await hubs(own_redis.url)
    channel = channel_name()

    async with hub.subscribe(channel) as subscription:
        own_redis.kill()
        await asyncio.sleep(3)  # several failed attempts, backoff growing
        assert not hub.connected
        own_redis.start()

        await interrupted(subscription)
        assert await hub.publish(channel, {"n": 1})
        assert await receive(subscription) == {"n": 1}


async def test_a_failed_publish_elsewhere_makes_every_hub_catch_up(
    redis_url: str, hubs: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B's publish is lost while A's connection is fine: A hears about it once B is back."""
    a, b = await hubs(redis_url), await hubs(redis_url)
    channel = channel_name()
    link = b._link
    assert link is not None

    async def broken(channel: str, message: Any) -> None:
        raise ConnectionError("simulated: the message never left")

    monkeypatch.setattr(link.backend, "publish", broken)

    async with a.subscribe(channel) as subscription:
        assert await b.publish(channel, {"n": 1}) is False

        await interrupted(subscription)  # A was told to catch up...
        assert a.reconnects == 0  # ...without losing its own connection
        await eventually(lambda: b.reconnects == 1)
        assert await b.publish(channel, {"n": 2})
        assert await receive(subscription) == {"n": 2}


@pytest.mark.slow
async def test_a_frozen_redis_is_noticed_by_the_probe(
    own_redis: RedisProcess, hubs: HubFactory
) -> None:
    """Redis hangs with its connections open (SIGSTOP): reads never fail, only the probe sees it."""
    hub = await hubs(own_redis.url, probe_seconds=0.2, timeout=0.5)
    channel = channel_name()

    async with hub.subscribe(channel) as subscription:
        own_redis.freeze()
        try:
            await eventually(lambda: not hub.connected)
            started = time.monotonic()
            assert await hub.publish(channel, {"n": 1}) is False
            # At once, not after the 0.5 s operation timeout (0.4: a busy machine's pauses).
            assert time.monotonic() - started < 0.4
        finally:
            own_redis.thaw()

        await interrupted(subscription)
        assert await hub.publish(channel, {"n": 2})
        assert await receive(subscription) == {"n": 2}


@pytest.mark.slow
async def test_stop_does_not_hang_while_redis_is_down_or_frozen(
    own_redis: RedisProcess,
) -> None:
    down = EventHub(own_redis.url, timeout=0.5)
    frozen = EventHub(own_redis.url, timeout=0.5)
    await down.start()
    await frozen.start()
    async with AsyncExitStack() as stack:
        subscriptions = [
            await stack.enter_async_context(hub.subscribe(channel_name())) for hub in (down, frozen)
        ]
        own_redis.freeze()
        try:
            started = time.monotonic()
            await asyncio.wait_for(frozen.stop(), 3)
            assert time.monotonic() - started < 2
        finally:
            own_redis.thaw()
        own_redis.kill()
        await eventually(lambda: not down.connected)
        await asyncio.sleep(0.3)  # in the middle of reconnecting

        started = time.monotonic()
        await asyncio.wait_for(down.stop(), 3)
        assert time.monotonic() - started < 2
        for subscription in subscriptions:
            with pytest.raises(Closed):
                await receive(subscription)


def test_deliveries_and_drops_are_counted_for_every_subscriber_at_once() -> None:
    async def scenario() -> None:
        reading, full, dead = Subscription(10), Subscription(1), Subscription(10)
        full.offer({"n": 0})  # its one place is taken: the next message overflows it
        dead.kill(Closed())
        delivered = _counted("kai_events_delivered_total")
        dropped = _counted("kai_events_dropped_total")

        offer_all([reading, full, dead], {"n": 1})

        assert _counted("kai_events_delivered_total") - delivered == 1
        assert _counted("kai_events_dropped_total") - dropped == 2
        assert await reading.get() == {"n": 1}
        with pytest.raises(Overflow):
            await full.get()

    asyncio.run(scenario())


def _counted(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


class _ReferenceMailbox:
    """What a subscription promises, on an asyncio.Queue (as it was built before)."""

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self.dead: Exception | None = None
        self.interrupt_queued = False

    def offer(self, message: Any) -> bool:
        if self.dead is not None:
            return False
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.kill(Overflow())
            return False
        return True

    def signal(self, error: Exception) -> None:
        if self.dead is not None:
            return
        if isinstance(error, Interrupted):
            if self.interrupt_queued:
                return
            self.interrupt_queued = True
        try:
            self.queue.put_nowait(error)
        except asyncio.QueueFull:
            self.kill(Overflow())

    def kill(self, error: Exception) -> None:
        self.dead = error
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(error)

    def read(self) -> Any:
        """What get() would give now: a message, an error's type, or "waits"."""
        if self.queue.empty():
            return "waits"
        item = self.queue.get_nowait()
        if isinstance(item, Exception):
            if isinstance(item, Interrupted):
                self.interrupt_queued = False
            if self.dead is not None:
                # asyncio.Queue cannot put back in front; the dead item is alone anyway.
                self.queue.put_nowait(item)
            return type(item)
        return item


@given(
    maxsize=st.integers(1, 4),
    steps=st.lists(st.sampled_from(["offer", "interrupt", "kill", "read"]), max_size=40),
)
@settings(max_examples=300, deadline=None)
def test_a_subscription_keeps_the_queue_s_order_bound_and_signals(
    maxsize: int, steps: list[str]
) -> None:
    """Generated sequences of offers, interruptions, kills and reads give what the asyncio.Queue
    the mailbox replaced gave, read for read."""

    async def scenario() -> None:
        subscription, reference = Subscription(maxsize), _ReferenceMailbox(maxsize)
        for number, step in enumerate(steps):
            if step == "offer":
                assert subscription.offer({"n": number}) == reference.offer({"n": number})
            elif step == "interrupt":
                subscription.signal(Interrupted())
                reference.signal(Interrupted())
            elif step == "kill":
                subscription.kill(Closed())
                reference.kill(Closed())
            else:
                expected = reference.read()
                reader = asyncio.ensure_future(subscription.get())
                await asyncio.sleep(0)
                if expected == "waits":
                    assert not reader.done()
                    reader.cancel()  # a reader that leaves takes nothing with it
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
                elif isinstance(expected, type):
                    with pytest.raises(expected):
                        await reader
                else:
                    assert await reader == expected

    asyncio.run(scenario())
