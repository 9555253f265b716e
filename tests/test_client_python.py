"""kai_sdk.client, the typed Python client (packages/kai-sdk), against a real server.

The app runs under uvicorn on its own thread and event loop, so the sync client can
block on it from the test's thread while the async client shares nothing with it either;
each scenario runs with KaiClient and with AsyncKaiClient: signing in, with an API key
too; the refresh token's rotation, on expiry and on UNAUTHENTICATED; an agent's
lifecycle and its commands; paging through agents with cursors; a task enqueued and
watched to its end; schedules made, listed, run now, changed and deleted; webhooks
made, delivered to a loopback endpoint that checks their signatures, rotated, tested,
redelivered, replayed, changed and deleted; uploads and signed downloads; agentEvents
resumed with nothing missed or repeated after the server restarts and drops every socket
(a real `kai serve` process for the sync client); and error codes raised as their
exception classes. Without a server: every ErrorCode of graphql.schema has its class, and
the wheel's `client` extra installs what the client imports.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLEnumType, build_schema

from kai.app import create_app
from kai.config import Settings
from kai_sdk.client import (
    AgentUnavailableError,
    AsyncKaiClient,
    BadUserInputError,
    ConflictError,
    ForbiddenError,
    GraphQLValidationFailedError,
    KaiClient,
    KaiError,
    NotFoundError,
    PayloadTooLargeError,
    PersistedQueryNotInListError,
    QuotaExceededError,
    RateLimitedError,
    Tokens,
    UnauthenticatedError,
    UnsupportedMediaTypeError,
    aio,
    sync,
)
from kai_sdk.client.errors import ERRORS
from tests.support.servers import ROOT, clean_env, free_port, kai_serve, serve_app
from tests.support.settings import make_settings
from tests.support.webhook_receiver import webhook_receiver
from tests.support.webhook_thread import arrived, receiver_on_a_thread

WAIT = 20.0
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
NOTES = b"Meeting notes: the Python client uploads by the multipart request spec.\n"


# --- a server on its own thread -------------------------------------------------------


@dataclass
class Server:
    """kAI under uvicorn on a thread of its own (and its own event loop), on a fixed
    port, so it can be stopped and started again at the same address."""

    settings: Settings
    port: int
    _thread: threading.Thread | None = None
    _stop: Callable[[], None] | None = None
    _failure: list[BaseException] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        ready = threading.Event()

        async def serve() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()

            def stop_soon() -> None:
                loop.call_soon_threadsafe(stop.set)

            self._stop = stop_soon
            async with serve_app(create_app(self.settings), port=self.port, graceful=True):
                ready.set()
                await stop.wait()

        def run() -> None:
            try:
                asyncio.run(serve())
            except BaseException as exc:
                self._failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name="kai-server", daemon=True)
        self._thread.start()
        assert ready.wait(60), "the server did not start within 60 s"
        if self._failure:
            raise self._failure[0]

    def stop(self) -> None:
        """As `kai serve` stops on SIGTERM: sockets closed with 1001, requests finished."""
        assert self._thread is not None and self._stop is not None
        self._stop()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the server did not stop within 30 s"
        if self._failure:
            raise self._failure[0]

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def serving(sqlite_url: str, tmp_path: Path, **overrides: Any) -> Iterator[Server]:
    port = free_port()
    # Signed download links point at this server (File.url is built on the public URL).
    settings = make_settings(
        sqlite_url, tmp_path / "data", public_url=f"http://127.0.0.1:{port}", **overrides
    )
    server = Server(settings, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[Server]:
    with serving(sqlite_url, tmp_path) as served:
        yield served


@pytest.fixture
def kai(server: Server) -> Iterator[KaiClient]:
    """A sync client signed up as the first account (an ADMIN)."""
    with KaiClient(server.url, timeout=WAIT) as client:
        client.sign_up(EMAIL, PASSWORD, "Ada")
        yield client


@pytest.fixture
async def akai(server: Server) -> AsyncIterator[AsyncKaiClient]:
    """An async client signed up as the first account (an ADMIN)."""
    async with AsyncKaiClient(server.url, timeout=WAIT) as client:
        await client.sign_up(EMAIL, PASSWORD, "Ada")
        yield client


def echo(name: str = "helper", **configuration: Any) -> sync.AgentConfigInput:
    return sync.AgentConfigInput(name=name, type_="echo", configuration=configuration)


def aecho(name: str = "helper", **configuration: Any) -> aio.AgentConfigInput:
    return aio.AgentConfigInput(name=name, type_="echo", configuration=configuration)


# --- signing in -------------------------------------------------------------------------


def test_sign_in_out_and_an_api_key_sync(server: Server) -> None:
    changes: list[Tokens | None] = []
    with KaiClient(server.url, on_tokens=changes.append) as kai:
        user = kai.sign_up(EMAIL, PASSWORD, "Ada")
        assert kai.me().me.model_dump() == user.model_dump()  # type: ignore[union-attr]
        kai.sign_out()
        assert kai.tokens is None
        with pytest.raises(UnauthenticatedError):
            kai.session()

        signed_in = kai.sign_in(EMAIL.upper(), PASSWORD)
        session = kai.session().session
        key = kai.create_api_key(
            sync.ApiKeyInput(name="reader", permissions=["agent.read"])
        ).create_api_key

    assert signed_in.id == user.id and user.role == sync.Role.ADMIN
    assert "agent.create" in session.permissions
    assert [type(change) for change in changes] == [Tokens, type(None), Tokens]
    with KaiClient(server.url, api_key=key.secret) as reader:
        assert reader.session().session.permissions == ["agent.read"]
        assert reader.agents().agents.edges == []
        with pytest.raises(ForbiddenError) as refused:
            reader.api_keys()
    assert refused.value.permission == "apikey.manage"
    assert refused.value.code == "FORBIDDEN"


async def test_sign_in_out_and_an_api_key_async(server: Server) -> None:
    changes: list[Tokens | None] = []
    async with AsyncKaiClient(server.url, on_tokens=changes.append) as kai:
        user = await kai.sign_up(EMAIL, PASSWORD, "Ada")
        me = (await kai.me()).me
        assert me is not None and me.model_dump() == user.model_dump()
        await kai.sign_out()
        with pytest.raises(UnauthenticatedError):
            await kai.session()
        await kai.sign_in(EMAIL, PASSWORD)
        key = (
            await kai.create_api_key(aio.ApiKeyInput(name="reader", permissions=["agent.read"]))
        ).create_api_key

    assert [type(change) for change in changes] == [Tokens, type(None), Tokens]
    async with AsyncKaiClient(server.url, api_key=key.secret) as reader:
        assert (await reader.session()).session.permissions == ["agent.read"]
        with pytest.raises(ForbiddenError) as refused:
            await reader.api_keys()
    assert refused.value.permission == "apikey.manage"


# --- refresh rotation -------------------------------------------------------------------


@pytest.fixture
def short_lived(sqlite_url: str, tmp_path: Path) -> Iterator[Server]:
    """Access tokens that live one second, with no leeway."""
    with serving(sqlite_url, tmp_path, access_token_ttl_seconds=1, jwt_leeway_seconds=0) as s:
        yield s


def expired(tokens: Tokens) -> None:
    """Waits until the server no longer takes the access token."""
    time.sleep(max(0.0, tokens.expires_in()) + 1.1)


def skewed(tokens: Tokens) -> Tokens:
    """The tokens as a client with a slow clock sees them: not expired yet."""
    return Tokens(tokens.access_token, tokens.refresh_token, datetime.now(UTC) + timedelta(hours=1))


def test_refresh_rotation_sync(short_lived: Server) -> None:
    changes: list[Tokens | None] = []
    with (
        KaiClient(short_lived.url, on_tokens=changes.append, refresh_margin=0) as kai,
        KaiClient(short_lived.url) as other,
    ):
        kai.sign_up(EMAIL, PASSWORD)
        first = kai.tokens
        assert first is not None

        # The server refuses the expired token (UNAUTHENTICATED); the client refreshes
        # and sends the request again.
        expired(first)
        kai.use_tokens(skewed(first))
        assert kai.session().session.user.email == EMAIL
        second = kai.tokens
        # Expiry seen by the client: it refreshes before sending.
        assert second is not None
        expired(second)
        assert kai.me().me is not None
        third = kai.tokens
        assert third is not None

        # Each refresh rotated both tokens; the client kept every new pair.
        refresh_tokens = [t.refresh_token for t in (first, second, third)]
        assert len(set(refresh_tokens)) == 3
        assert len({t.access_token for t in (first, second, third)}) == 3
        assert changes[-1] == third

        # A spent refresh token revokes the session: the client's refresh then fails,
        # and it forgets the tokens.
        with pytest.raises(UnauthenticatedError):
            other.refresh_token(first.refresh_token)
        with pytest.raises(UnauthenticatedError):
            kai.session()
        assert kai.tokens is None
        assert changes[-1] is None


async def test_refresh_rotation_async(short_lived: Server) -> None:
    changes: list[Tokens | None] = []
    async with AsyncKaiClient(short_lived.url, on_tokens=changes.append, refresh_margin=0) as kai:
        await kai.sign_up(EMAIL, PASSWORD)
        first = kai.tokens
        assert first is not None
        await asyncio.sleep(max(0.0, first.expires_in()) + 1.1)
        slow_clock = skewed(first)
        kai.use_tokens(slow_clock)

        # Concurrent requests that all meet the expired token share one refresh: a
        # second one would spend a spent refresh token and revoke the session.
        sessions = await asyncio.gather(*(kai.session() for _ in range(5)))
        second = kai.tokens

    assert {s.session.user.email for s in sessions} == {EMAIL}
    assert second is not None and second.refresh_token != first.refresh_token
    assert changes == [first, slow_clock, second]


# --- an agent's lifecycle and a command -------------------------------------------------


def test_agent_lifecycle_and_commands_sync(kai: KaiClient) -> None:
    agent = kai.create_agent(echo()).create_agent
    assert agent.state == sync.AgentState.RUNNING

    answer = kai.command(agent.id, "ping", {"n": 1}, idempotency_key="ping-1")
    again = kai.command(agent.id, "ping", {"n": 2}, idempotency_key="ping-1")
    assert answer.success and answer.result == {"echo": "ping", "params": {"n": 1}}
    assert again.result == answer.result  # the first run's, not run again

    updated = kai.update_agent(
        agent.id, sync.AgentConfigPatch(name="renamed", capabilities=["a", "b"])
    ).update_agent
    assert (updated.name, updated.capabilities) == ("renamed", ["a", "b"])

    assert kai.stop_agent(agent.id).stop_agent.state == sync.AgentState.STOPPED
    with pytest.raises(AgentUnavailableError):
        kai.command(agent.id, "ping")
    assert kai.restart_agent(agent.id).restart_agent.state == sync.AgentState.RUNNING
    kai.command(agent.id, "pong")

    status = kai.agent_status(agent.id).agent_status
    assert status.metrics.commands_total == 2
    read = kai.agent(agent.id).agent
    assert read is not None and read.status.health.status == sync.HealthState.HEALTHY
    assert kai.delete_agent(agent.id).delete_agent == agent.id
    with pytest.raises(NotFoundError):
        kai.agent(agent.id)


async def test_agent_lifecycle_and_commands_async(akai: AsyncKaiClient) -> None:
    agent = (await akai.create_agent(aecho())).create_agent
    answer = await akai.command(agent.id, "ping", {"n": 1})
    await akai.stop_agent(agent.id)
    with pytest.raises(AgentUnavailableError) as unavailable:
        await akai.command(agent.id, "ping")
    restarted = (await akai.restart_agent(agent.id)).restart_agent
    async with aclosing(akai.prompt(agent.id, "the quick brown fox")) as chunks:
        answered = [chunk async for chunk in chunks]
    deleted = (await akai.delete_agent(agent.id)).delete_agent

    assert answer.result == {"echo": "ping", "params": {"n": 1}}
    assert unavailable.value.code == "AGENT_UNAVAILABLE"
    assert restarted.state == aio.AgentState.RUNNING
    assert "".join(c.delta for c in answered) == "the quick brown fox"
    assert [c.done for c in answered][-1] is True
    assert deleted == agent.id


# --- paging with cursors ----------------------------------------------------------------

NAMES = ["fig", "apple", "Elder", "banana", "grape", "cherry", "date"]


def test_paging_through_agents_with_cursors_sync(kai: KaiClient) -> None:
    for name in NAMES:
        kai.create_agent(echo(name))
    by_name = sync.AgentOrder(field=sync.AgentOrderField.NAME, direction=sync.OrderDirection.ASC)

    pages = []
    after = None
    while True:
        page = kai.agents(order_by=by_name, first=3, after=after, with_total=True).agents
        pages.append([edge.node.name for edge in page.edges])
        assert page.total_count == len(NAMES)
        if not page.page_info.has_next_page:
            break
        after = page.page_info.end_cursor
    every = [agent.name for agent in kai.iter_agents(order_by=by_name, page_size=2)]
    filtered = [a.name for a in kai.iter_agents(sync.AgentFilter(name_contains="E"), page_size=1)]
    # A cursor is good for its own order only.
    with pytest.raises(BadUserInputError) as refused:
        kai.agents(first=3, after=after)

    expected = sorted(NAMES, key=str.lower)
    assert pages == [expected[:3], expected[3:6], expected[6:]]
    assert every == expected
    assert kai.agents().agents.total_count is None  # not asked for, not counted
    assert sorted(filtered) == sorted(n for n in NAMES if "e" in n.lower())
    assert refused.value.field == "after"


async def test_paging_through_agents_with_cursors_async(akai: AsyncKaiClient) -> None:
    for name in NAMES:
        await akai.create_agent(aecho(name))
    by_name = aio.AgentOrder(field=aio.AgentOrderField.NAME, direction=aio.OrderDirection.DESC)

    async with aclosing(akai.iter_agents(order_by=by_name, page_size=3)) as agents:
        every = [agent.name async for agent in agents]
    first = (await akai.agents(first=2)).agents

    assert every == sorted(NAMES, key=str.lower, reverse=True)
    assert [e.node.name for e in first.edges] == NAMES[::-1][:2]  # newest first
    assert first.page_info.has_next_page


# --- tasks ------------------------------------------------------------------------------


def test_enqueue_and_watch_a_task_sync(kai: KaiClient) -> None:
    agent = kai.create_agent(echo()).create_agent
    payload = {"steps": 3, "stepSeconds": 0.05}
    task = kai.enqueue_task(agent.id, sync.TaskInput(type_="echo", payload=payload)).enqueue_task
    seen = list(kai.watch_task(task.id))
    delayed = kai.enqueue_task(
        agent.id, sync.TaskInput(type_="echo", payload={}, delay_seconds=600)
    ).enqueue_task
    cancelled = kai.cancel_task(delayed.id).cancel_task
    listed = [t.id for t in kai.iter_tasks(sync.TaskFilter(agent_id=agent.id), page_size=1)]

    assert seen[-1].state == sync.TaskState.COMPLETED and seen[-1].result == payload
    assert all(s.state != sync.TaskState.COMPLETED for s in seen[:-1])
    progress = [s.progress or 0 for s in seen]
    assert progress == sorted(progress) and progress[-1] == 1
    assert cancelled.state == sync.TaskState.CANCELLED
    assert kai.wait_for_task(delayed.id).state == sync.TaskState.CANCELLED
    assert listed == [delayed.id, task.id]


async def test_enqueue_and_watch_a_task_async(akai: AsyncKaiClient) -> None:
    agent = (await akai.create_agent(aecho())).create_agent
    payload = {"steps": 3, "stepSeconds": 0.05}
    task = (
        await akai.enqueue_task(agent.id, aio.TaskInput(type_="echo", payload=payload))
    ).enqueue_task
    async with aclosing(akai.watch_task(task.id)) as updates:
        seen = [update async for update in updates]
    async with asyncio.timeout(WAIT):
        final = await akai.wait_for_task(task.id)

    assert [s.state for s in seen][-1] == aio.TaskState.COMPLETED
    assert final == seen[-1] and final.result == payload
    with pytest.raises(BadUserInputError) as refused:
        await akai.enqueue_task(agent.id, aio.TaskInput(type_="no-such-type"))
    assert refused.value.field == "input.type"


# --- schedules --------------------------------------------------------------------------


def test_schedules_sync(kai: KaiClient) -> None:
    agent = kai.create_agent(echo()).create_agent
    template = sync.TaskInput(type_="echo", payload={"n": 1}, priority=3)
    yearly = sync.ScheduleInput(
        name="yearly", agent_id=agent.id, cron="0 3 1 1 *", timezone="Europe/Berlin", task=template
    )
    made = kai.create_schedule(yearly).create_schedule
    once = sync.ScheduleInput(
        name="once", agent_id=agent.id, run_at=datetime(2099, 1, 1, tzinfo=UTC), task=template
    )
    kai.create_schedule(once)
    listed = [s.name for s in kai.iter_schedules(agent.id, page_size=1)]
    task = kai.run_schedule_now(made.id).run_schedule_now
    ended = kai.wait_for_task(task.id)
    seen = kai.schedule(made.id, with_tasks=True, recent_tasks=5).schedule
    plain = kai.schedule(made.id).schedule
    paused = kai.update_schedule(made.id, sync.SchedulePatch(active=False)).update_schedule
    started = list(kai.iter_tasks(sync.TaskFilter(schedule_id=made.id)))

    assert (made.cron, made.timezone, made.run_at, made.active) == (
        "0 3 1 1 *",
        "Europe/Berlin",
        None,
        True,
    )
    assert made.task.type_ == "echo" and made.task.payload == {"n": 1} and made.task.priority == 3
    assert listed == ["once", "yearly"]  # newest first
    assert ended.state == sync.TaskState.COMPLETED and ended.result == {"n": 1}
    assert seen is not None and seen.tasks is not None and seen.tasks.total_count == 1
    assert [edge.node.id for edge in seen.tasks.edges] == [task.id]
    assert plain is not None and plain.tasks is None  # tasks only when asked for
    assert paused.active is False and paused.next_run_at is None
    assert [t.id for t in started] == [task.id]
    assert kai.delete_schedule(made.id).delete_schedule == made.id
    with pytest.raises(NotFoundError):
        kai.schedule(made.id)


async def test_schedules_async(akai: AsyncKaiClient) -> None:
    agent = (await akai.create_agent(aecho())).create_agent
    template = aio.TaskInput(type_="echo")
    once = aio.ScheduleInput(
        name="once", agent_id=agent.id, run_at=datetime(2099, 1, 1, tzinfo=UTC), task=template
    )
    made = (await akai.create_schedule(once)).create_schedule
    patch = aio.SchedulePatch(cron="30 * * * *", task=aio.TaskInput(type_="echo", retries=2))
    changed = (await akai.update_schedule(made.id, patch)).update_schedule
    async with aclosing(akai.iter_schedules()) as schedules:
        every = [schedule.id async for schedule in schedules]
    with pytest.raises(BadUserInputError) as refused:
        await akai.create_schedule(
            aio.ScheduleInput(name="bad", agent_id=agent.id, cron="* * * *", task=template)
        )

    assert made.cron is None and made.next_run_at == datetime(2099, 1, 1, tzinfo=UTC)
    assert changed.cron == "30 * * * *" and changed.run_at is None and changed.task.retries == 2
    assert every == [made.id]
    assert refused.value.field == "input.cron"


# --- webhooks ---------------------------------------------------------------------------


def delivery_states(kai: KaiClient, webhook_id: str) -> list[sync.DeliveryState]:
    webhook = kai.webhook(webhook_id, with_deliveries=True).webhook
    assert webhook is not None and webhook.deliveries is not None
    return [edge.node.state for edge in webhook.deliveries.edges]


def test_webhooks_sync(kai: KaiClient) -> None:
    agent = kai.create_agent(echo()).create_agent
    with receiver_on_a_thread() as receiver:
        results = sync.WebhookInput(
            url=f"{receiver.url}/sync",
            description="results",
            event_types=[sync.AgentEventType.COMMAND_RESULT],
            agent_ids=[agent.id],
        )
        made = kai.create_webhook(results).create_webhook
        receiver.secrets.append(made.secret)
        every = kai.create_webhook(sync.WebhookInput(url=f"{receiver.url}/every", active=False))
        kai.command(agent.id, "ping")
        (got,) = arrived(lambda: receiver.at("/sync"))
        webhook_id = made.webhook.id
        # Recorded once its answer is back, after the receiver has it.
        wait_until(lambda: delivery_states(kai, webhook_id) == [sync.DeliveryState.DELIVERED])
        listed = [w.id for w in kai.iter_webhooks(page_size=1)]
        shown = kai.webhook(webhook_id, with_deliveries=True).webhook
        plain = kai.webhook(webhook_id).webhook
        rotated = kai.rotate_webhook_secret(webhook_id).rotate_webhook_secret
        receiver.secrets.append(rotated.secret)
        tested = kai.test_webhook(webhook_id).test_webhook
        arrived(lambda: len(receiver.at("/sync")) == 2)
        again = kai.redeliver_webhook(tested.id).redeliver_webhook
        arrived(lambda: len(receiver.at("/sync")) == 3)
        replayed = kai.replay_webhook(webhook_id, agent.id, 0).replay_webhook
        arrived(lambda: len(receiver.at("/sync")) == 3 + replayed)
        patch = sync.WebhookPatch(active=False, description="", event_types=[])
        paused = kai.update_webhook(webhook_id, patch).update_webhook

    assert made.secret.startswith("whsec_") and rotated.secret.startswith("whsec_")
    assert rotated.secret != made.secret and rotated.webhook.id == webhook_id
    assert made.webhook.event_types == [sync.AgentEventType.COMMAND_RESULT]
    assert [(a.id, a.name) for a in made.webhook.agents or []] == [(agent.id, "helper")]
    assert (made.webhook.description, made.webhook.active) == ("results", True)
    assert got.body["type"] == "COMMAND_RESULT" and got.verified_by == [made.secret]
    assert listed == [every.create_webhook.webhook.id, webhook_id]  # newest first
    assert shown is not None and shown.deliveries is not None
    (delivery,) = [edge.node for edge in shown.deliveries.edges]
    assert (delivery.id, delivery.event_seq) == (got.webhook_id, got.seq)
    assert delivery.state == sync.DeliveryState.DELIVERED and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.agent.id == agent.id
    assert plain is not None and plain.deliveries is None  # deliveries only when asked for
    assert tested.event_seq == 0 and tested.webhook.id == webhook_id
    test_event, redelivered = receiver.at("/sync")[1:3]
    assert test_event.webhook_id == redelivered.webhook_id == tested.id == again.id
    assert sorted(redelivered.verified_by) == sorted([made.secret, rotated.secret])
    assert replayed == 1 and receiver.at("/sync")[3].seq == got.seq
    assert paused.active is False and paused.description is None and paused.event_types == []
    assert kai.delete_webhook(webhook_id).delete_webhook == webhook_id
    with pytest.raises(NotFoundError):
        kai.webhook(webhook_id)
    with pytest.raises(NotFoundError):
        kai.redeliver_webhook(tested.id)  # its deliveries went with it


async def test_webhooks_async(akai: AsyncKaiClient) -> None:
    agent = (await akai.create_agent(aecho())).create_agent
    with pytest.raises(BadUserInputError) as refused:
        await akai.create_webhook(aio.WebhookInput(url="http://10.0.0.7/hook"))
    async with webhook_receiver() as receiver:
        made = (
            await akai.create_webhook(aio.WebhookInput(url=f"{receiver.url}/a", active=False))
        ).create_webhook
        receiver.secrets.append(made.secret)
        await akai.command(agent.id, "ignored")  # paused: nothing is queued
        patch = aio.WebhookPatch(
            active=True, event_types=[aio.AgentEventType.COMMAND_RESULT], agent_ids=[agent.id]
        )
        changed = (await akai.update_webhook(made.webhook.id, patch)).update_webhook
        await akai.command(agent.id, "ping")
        await receiver.wait_for(lambda: len(receiver.at("/a")) == 1)
        async with aclosing(akai.iter_webhooks()) as webhooks:
            every = [webhook.id async for webhook in webhooks]
        shown = (await akai.webhook(made.webhook.id, with_deliveries=True)).webhook
        failed = (
            await akai.webhook(made.webhook.id, with_deliveries=True, failed_only=True)
        ).webhook
        with pytest.raises(BadUserInputError) as negative:
            await akai.replay_webhook(made.webhook.id, agent.id, -1)
        deleted = (await akai.delete_webhook(made.webhook.id)).delete_webhook

    assert refused.value.field == "input.url"
    assert made.webhook.active is False and made.webhook.agents is None
    assert changed.active is True and changed.event_types == [aio.AgentEventType.COMMAND_RESULT]
    assert [a.id for a in changed.agents or []] == [agent.id]
    (got,) = receiver.at("/a")
    assert got.body["data"]["data"]["command"] == "ping" and got.verified_by == [made.secret]
    assert every == [made.webhook.id]
    assert shown is not None and shown.deliveries is not None
    assert shown.deliveries.total_count == 1
    assert failed is not None and failed.deliveries is not None
    assert failed.deliveries.edges == [] and failed.deliveries.total_count == 0
    assert negative.value.field == "after"
    assert deleted == made.webhook.id


# --- files ------------------------------------------------------------------------------


def test_upload_and_signed_download_sync(kai: KaiClient, tmp_path: Path) -> None:
    agent = kai.create_agent(echo()).create_agent
    sent: list[int] = []
    uploaded = kai.upload(NOTES, filename="notes.txt", agent_id=agent.id, progress=sent.append)
    path = tmp_path / "report.json"
    path.write_bytes(json.dumps({"a": list(range(1000))}).encode())
    from_path = kai.upload(path)

    assert uploaded.original_name == "notes.txt" and uploaded.mime_type == "text/plain"
    assert uploaded.size == len(NOTES) and sent[-1] == len(NOTES)
    assert uploaded.checksum == hashlib.sha256(NOTES).hexdigest()
    assert uploaded.agent is not None and uploaded.agent.id == agent.id
    assert from_path.original_name == "report.json" and from_path.mime_type == "application/json"
    assert kai.download(uploaded.id) == NOTES
    assert kai.download_to(from_path, tmp_path / "copy.json") == path.stat().st_size
    assert (tmp_path / "copy.json").read_bytes() == path.read_bytes()
    assert [f.id for f in kai.iter_files(page_size=1)] == [from_path.id, uploaded.id]
    mine = kai.files(sync.FileFilter(agent_id=agent.id)).files.edges
    assert [edge.node.id for edge in mine] == [uploaded.id]

    with pytest.raises(UnsupportedMediaTypeError):
        kai.upload(b"\x7fELF\x02\x01\x01" + bytes(200), filename="tool")
    kai.delete_file(uploaded.id)
    with pytest.raises(NotFoundError):
        kai.download(uploaded)


async def test_upload_and_signed_download_async(akai: AsyncKaiClient, tmp_path: Path) -> None:
    with (tmp_path / "notes.txt").open("wb+") as file:
        file.write(NOTES)
        file.seek(0)
        uploaded = await akai.upload(file, content_type="text/plain")
    downloaded = await akai.download(uploaded)
    async with aclosing(akai.iter_download(uploaded.id, chunk_size=16)) as chunks:
        pieces = [chunk async for chunk in chunks]

    assert uploaded.original_name == "notes.txt"
    assert downloaded == NOTES == b"".join(pieces)
    with pytest.raises(UnsupportedMediaTypeError):  # a declared type that is not the sniffed one
        await akai.upload(NOTES, filename="notes.pdf", content_type="application/pdf")


def test_an_upload_past_the_limit_is_payload_too_large(sqlite_url: str, tmp_path: Path) -> None:
    with (
        serving(sqlite_url, tmp_path, max_upload_bytes=1000) as server,
        KaiClient(server.url) as kai,
    ):
        kai.sign_up(EMAIL, PASSWORD)
        with pytest.raises(PayloadTooLargeError) as refused:
            kai.upload(b"a" * 5000, filename="big.txt")
    assert refused.value.code == "PAYLOAD_TOO_LARGE"


# --- subscriptions that resume ----------------------------------------------------------


@pytest.mark.slow
def test_events_resume_after_kai_serve_restarts_sync(tmp_path: Path) -> None:
    """A real `kai serve`, stopped (SIGTERM: every socket closed with 1001) and started
    again on the same port and database while a sync client follows an agent's events."""
    port = free_port()
    env = clean_env(
        KAI_DATA_DIR=str(tmp_path / "data"), KAI_JWT_SECRET="s" * 48, KAI_QDRANT_URL=":memory:"
    )
    received: list[sync.fragments.AgentEventFields] = []
    failures: list[BaseException] = []

    def last(event: sync.fragments.AgentEventFields) -> bool:
        return bool(
            event.data.get("command") == "after" and event.data["result"]["params"]["n"] == 2
        )

    def follow(url: str, agent_id: str) -> None:
        try:
            with KaiClient(url, timeout=WAIT) as follower:
                follower.sign_in(EMAIL, PASSWORD)
                with closing(follower.watch_agent_events(agent_id, after=0)) as events:
                    for event in events:
                        received.append(event)
                        if last(event):
                            return
        except BaseException as exc:
            failures.append(exc)

    with kai_serve(env, port=port) as (url, _process), KaiClient(url, timeout=WAIT) as kai:
        kai.sign_up(EMAIL, PASSWORD)
        agent = kai.create_agent(echo()).create_agent
        follower = threading.Thread(target=follow, args=(url, agent.id), daemon=True)
        follower.start()
        for n in range(3):
            kai.command(agent.id, "before", {"n": n})
        wait_until(lambda: len(received) >= 5 or bool(failures))
    # Stopped: the follower's socket is gone; it tries again until the server is back.
    with kai_serve(env, port=port) as (url, _process), KaiClient(url, timeout=WAIT) as kai:
        kai.sign_in(EMAIL, PASSWORD)
        running_after_restart(url, agent.id)
        for n in range(3):
            kai.command(agent.id, "after", {"n": n})
        follower.join(WAIT)
    assert not follower.is_alive(), f"the follower is stuck after {len(received)} events"

    assert not failures, failures
    seqs = [event.seq for event in received]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    results = [e.data for e in received if e.type_ == sync.AgentEventType.COMMAND_RESULT]
    assert [(r["command"], r["result"]["params"]["n"]) for r in results] == [
        ("before", 0),
        ("before", 1),
        ("before", 2),
        ("after", 0),
        ("after", 1),
        ("after", 2),
    ]


async def test_events_resume_after_the_server_restarts_async(
    server: Server, akai: AsyncKaiClient
) -> None:
    agent = (await akai.create_agent(aecho())).create_agent
    received: list[aio.fragments.AgentEventFields] = []
    commands = 0

    async def command(name: str) -> None:
        nonlocal commands
        commands += 1
        await akai.command(agent.id, name, {"n": commands})

    async with aclosing(akai.watch_agent_events(agent.id, after=0, patience=WAIT)) as events:
        async with asyncio.timeout(WAIT * 2):
            async for event in events:
                received.append(event)
                if len(received) == 2:
                    await command("before")
                elif len(received) == 3:
                    # Stop the server while the subscription is live, cause events while
                    # it is away from the client, then let the client find it again.
                    await asyncio.to_thread(server.restart)
                    await asyncio.to_thread(running_after_restart, server.url, agent.id)
                    await command("after")
                elif event.type_ == aio.AgentEventType.COMMAND_RESULT and commands == 2:
                    break

    seqs = [event.seq for event in received]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    commanded = [e.data["command"] for e in received if e.type_ == "COMMAND_RESULT"]
    assert commanded == ["before", "after"]


def running_after_restart(url: str, agent_id: str) -> None:
    """Restarts the agent if the new server did not (its events count like any other)."""
    with KaiClient(url, timeout=WAIT) as kai:
        kai.sign_in(EMAIL, PASSWORD)
        agent = kai.agent(agent_id).agent
        assert agent is not None
        if agent.state != sync.AgentState.RUNNING:
            kai.restart_agent(agent_id)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- errors -----------------------------------------------------------------------------


def test_error_codes_are_raised_as_their_classes(sqlite_url: str, tmp_path: Path) -> None:
    with (
        serving(sqlite_url, tmp_path, quota_agents_per_user=1, rate_limit_auth_per_account=3) as s,
        KaiClient(s.url) as kai,
    ):
        with pytest.raises(UnauthenticatedError):
            kai.session()
        kai.sign_up(EMAIL, PASSWORD)
        with pytest.raises(ConflictError):
            kai.register(sync.RegisterInput(email=EMAIL, password=PASSWORD))
        agent = kai.create_agent(echo()).create_agent
        with pytest.raises(QuotaExceededError) as quota:
            kai.create_agent(echo("second"))
        with pytest.raises(NotFoundError):
            kai.agent_status("agt_nope")
        with pytest.raises(BadUserInputError) as bad:
            kai.agents(first=0)
        with pytest.raises(GraphQLValidationFailedError):
            kai.get_data(kai.execute("query { agents { nope } }"))
        refusals: list[KaiError] = []
        for _ in range(5):
            try:
                kai.login(sync.LoginInput(email=EMAIL, password="wrong password!"))
            except (UnauthenticatedError, RateLimitedError) as exc:
                refusals.append(exc)

    assert (quota.value.quota, quota.value.limit) == ("agents", 1)
    assert bad.value.field == "first"
    # Three logins a window for the address.
    assert [type(r) for r in refusals] == [UnauthenticatedError] * 3 + [RateLimitedError] * 2
    limited = refusals[-1]
    assert isinstance(limited, RateLimitedError)
    assert limited.retry_after is not None and limited.retry_after > 0
    assert agent.id


async def test_error_codes_are_raised_as_their_classes_async(akai: AsyncKaiClient) -> None:
    with pytest.raises(NotFoundError) as missing:
        await akai.agent_status("agt_nope")
    with pytest.raises(BadUserInputError):
        await akai.tasks(first=501)
    async with aclosing(akai.watch_agent_events("agt_nope", after=0)) as events:
        with pytest.raises(NotFoundError):
            await anext(events)

    assert missing.value.code == "NOT_FOUND" and missing.value.errors[0]["path"] == ["agentStatus"]


def test_trusted_documents_mode_runs_the_clients_documents(sqlite_url: str, tmp_path: Path) -> None:
    """kai_sdk/client/persisted-documents.json lists every document the clients send."""
    manifest = (
        ROOT / "packages" / "kai-sdk" / "src" / "kai_sdk" / "client" / "persisted-documents.json"
    )
    with (
        serving(sqlite_url, tmp_path, trusted_documents=[manifest]) as server,
        KaiClient(server.url, timeout=WAIT) as kai,
    ):
        kai.sign_up(EMAIL, PASSWORD)
        agent = kai.create_agent(echo()).create_agent
        kai.command(agent.id, "ping")
        uploaded = kai.upload(NOTES, filename="notes.txt")
        downloaded = kai.download(uploaded)
        with closing(kai.watch_agent_events(agent.id, after=0)) as events:
            first = next(events)
        with pytest.raises(PersistedQueryNotInListError):
            kai.get_data(kai.execute("query Mine { me { email } }", "Mine"))

    assert downloaded == NOTES
    assert first.seq == 1


def test_every_error_code_of_the_schema_has_its_exception() -> None:
    schema = build_schema((ROOT / "graphql.schema").read_text())
    codes = schema.get_type("ErrorCode")
    assert isinstance(codes, GraphQLEnumType)

    assert set(ERRORS) == set(codes.values) == {c.value for c in aio.ErrorCode}
    assert all(ERRORS[code].code == code for code in ERRORS)


# --- the client extra -------------------------------------------------------------------

PROBE = """
import json, sys
import kai_sdk
before = {name.partition(".")[0] for name in sys.modules}
from kai_sdk.client import AsyncKaiClient, KaiClient
from kai_sdk.client.sync import AgentConfigInput
AgentConfigInput(name="x", type="echo")
try:
    import kai  # noqa: F401
except ModuleNotFoundError:
    server = False
else:
    server = True
import importlib.resources
manifest = importlib.resources.files("kai_sdk.client") / "persisted-documents.json"
loaded = before - set(sys.stdlib_module_names) - {"__main__"}
print(json.dumps({"before": sorted(loaded), "server": server, "manifest": manifest.is_file()}))
"""


def test_the_client_extra_installs_what_the_client_imports(tmp_path: Path) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv builds and installs the kai-sdk wheel"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}

    def run(*args: str) -> str:
        done = subprocess.run(
            args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run(uv, "build", "--quiet", "--package", "kai-sdk", "--wheel", "--out-dir", "dist", str(ROOT))
    (wheel,) = (tmp_path / "dist").glob("kai_sdk-*.whl")
    run(uv, "venv", "--quiet", "--python", sys.executable, "venv")
    python = str(tmp_path / "venv" / "bin" / "python")
    run(uv, "pip", "install", "--quiet", "--python", python, f"kai-sdk[client] @ {wheel.as_uri()}")

    probe = json.loads(run(python, "-I", "-c", PROBE))
    installed = run(uv, "pip", "freeze", "--python", python)

    # `import kai_sdk` (a remote agent) still loads websockets only; the client loads.
    assert set(probe["before"]) <= {"kai_sdk", "websockets"}
    assert probe["server"] is False
    assert probe["manifest"] is True
    names = {line.split("==")[0].split(" @ ")[0].lower() for line in installed.splitlines()}
    assert {"httpx", "pydantic", "websockets", "kai-sdk"} <= names
