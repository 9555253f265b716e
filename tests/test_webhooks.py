"""Webhooks over /graphql on SQLite and PostgreSQL, delivered by the server's own sender
to a real HTTP endpoint on loopback that verifies every signature with the
`standardwebhooks` package: order, filters, retries, 410, a slow endpoint, rotation,
test, redelivery, replay, refused targets, and the outbox's transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import func, select
from sqlmodel import col

from kai.config import Settings
from kai.db import transaction
from kai.models.agent_event import AgentEventType
from kai.models.webhook import Webhook, WebhookDelivery
from kai.services.shared import Services
from kai.services.webhook_secrets import SecretBox, new_secret
from tests.support.agents import COMMAND, create_echo, signed_in
from tests.support.apps import services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.tasks import eventually, task_settings
from tests.support.webhook_receiver import Receiver, webhook_receiver

CREATE = """
mutation Create($input: WebhookInput!) {
  createWebhook(input: $input) { secret webhook { id url eventTypes active agents { id } } }
}
"""
UPDATE = """
mutation U($id: ID!, $input: WebhookPatch!) { updateWebhook(id: $id, input: $input) { id active } }
"""
ROTATE = "mutation R($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { id } } }"
TEST = "mutation T($id: ID!) { testWebhook(id: $id) { id eventSeq eventType state agent { id } } }"
REDELIVER = "mutation D($id: ID!) { redeliverWebhook(deliveryId: $id) { id state } }"
REPLAY = """
mutation P($id: ID!, $agentId: ID!, $after: Int!) {
  replayWebhook(id: $id, agentId: $agentId, after: $after)
}
"""
DELETE = "mutation X($id: ID!) { deleteWebhook(id: $id) }"
WEBHOOK = """
query W($id: ID!, $failedOnly: Boolean) {
  webhook(id: $id) {
    id active disabledReason previousSecretValidUntil pausedUntil
    deliveries(failedOnly: $failedOnly, first: 100) {
      totalCount
      edges {
        node {
          id eventSeq eventType state attempts lastStatusCode lastError deliveredAt webhook { id }
        }
      }
    }
  }
}
"""
WEBHOOKS = "query { webhooks { totalCount edges { node { id } } } }"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return task_settings(
        database_url,
        tmp_path / "data",
        webhook_poll_seconds=0.05,
        webhook_retry_seconds=[0.05] * 6,
        webhook_timeout_seconds=5,
    )


@pytest.fixture
def services(app: Any) -> Services:
    return services_of(app)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with webhook_receiver() as running:
        yield running


async def create(
    client: GraphQLClient, token: str, receiver: Receiver, path: str, **input: Any
) -> dict[str, Any]:
    result = await client.execute(
        CREATE, {"input": {"url": f"{receiver.url}{path}", **input}}, token=token
    )
    made = result.ok()["createWebhook"]
    receiver.secrets.append(made["secret"])
    return made  # type: ignore[no-any-return]


async def command(client: GraphQLClient, token: str, agent_id: str, name: str = "ping") -> None:
    result = await client.execute(
        COMMAND, {"agentId": agent_id, "command": {"command": name}}, token=token
    )
    result.ok()


async def deliveries(
    client: GraphQLClient, token: str, webhook_id: str, **variables: Any
) -> list[dict[str, Any]]:
    result = await client.execute(WEBHOOK, {"id": webhook_id, **variables}, token=token)
    return [edge["node"] for edge in result.ok()["webhook"]["deliveries"]["edges"]]


async def test_events_reach_the_endpoint_signed_and_in_seq_order(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, receiver, "/all")
    assert made["secret"].startswith("whsec_") and made["webhook"]["agents"] is None
    for number in range(6):
        await command(client, token, agent["id"], f"c{number}")
    stored = await services.events.after(agent_id=agent["id"], after=0)
    first = await services.events.last_seq(agent_id=agent["id"]) - 5 * 1
    await receiver.wait_for(lambda: len(receiver.at("/all")) >= 6)
    got = receiver.at("/all")
    seqs = [r.seq for r in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(r.verified_by == [made["secret"]] for r in got)
    last = got[-1]
    event = next(e for e in stored if e.seq == last.seq)
    assert last.body["type"] == event.type.value == last.body["data"]["type"]
    assert last.body["data"]["agentId"] == agent["id"] and last.body["data"]["data"] == event.data
    assert last.webhook_id.startswith("whd_") and first >= 0

    async def recorded() -> dict[str, dict[str, Any]] | None:
        # Each is recorded once its answer is back, after the receiver has it.
        rows = await deliveries(client, token, made["webhook"]["id"])
        delivered = {row["id"]: row for row in rows if row["state"] == "DELIVERED"}
        return delivered if {r.webhook_id for r in got} <= set(delivered) else None

    delivered = await eventually(recorded)
    assert all(row["lastStatusCode"] == 200 and row["attempts"] == 1 for row in delivered.values())


async def test_filters_by_event_type_and_agent(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    token = await signed_in(client)
    watched = await create_echo(client, token, name="watched")
    other = await create_echo(client, token, name="other")
    made = await create(
        client, token, receiver, "/some", eventTypes=["COMMAND_RESULT"], agentIds=[watched["id"]]
    )
    assert made["webhook"]["eventTypes"] == ["COMMAND_RESULT"]
    assert made["webhook"]["agents"] == [{"id": watched["id"]}]
    for agent in (watched, other, watched):
        await command(client, token, agent["id"])
    await receiver.wait_for(lambda: len(receiver.at("/some")) >= 2)
    await asyncio.sleep(0.3)  # time for a wrong one to arrive, were it queued
    got = receiver.at("/some")
    assert len(got) == 2
    assert {r.body["type"] for r in got} == {"COMMAND_RESULT"}
    assert {r.body["data"]["agentId"] for r in got} == {watched["id"]}


async def test_a_failing_endpoint_gets_every_event_in_order_once_it_recovers(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    async def flaky(number: int) -> int:
        return 500 if number <= 3 else 200

    receiver.answers["/flaky"] = flaky
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, receiver, "/flaky", eventTypes=["COMMAND_RESULT"])
    for number in range(3):
        await command(client, token, agent["id"], f"c{number}")
    await receiver.wait_for(lambda: len(receiver.at("/flaky")) >= 3)
    seqs = [r.seq for r in receiver.at("/flaky")]
    assert seqs == sorted(seqs)
    rows = await deliveries(client, token, made["webhook"]["id"])
    first = min(rows, key=lambda row: row["eventSeq"])
    assert first["state"] == "DELIVERED" and first["attempts"] == 4
    assert receiver.counts["/flaky"] == 6  # three refusals, then each event once


async def test_410_switches_the_webhook_off(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    async def gone(_: int) -> int:
        return 410

    receiver.answers["/gone"] = gone
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, receiver, "/gone")
    await command(client, token, agent["id"])

    async def switched_off() -> bool:
        result = await client.execute(WEBHOOK, {"id": made["webhook"]["id"]}, token=token)
        return result.ok()["webhook"]["active"] is False

    await eventually(switched_off)
    failed = await deliveries(client, token, made["webhook"]["id"], failedOnly=True)
    assert len(failed) == 1 and failed[0]["lastStatusCode"] == 410
    seen = (await client.execute(WEBHOOK, {"id": made["webhook"]["id"]}, token=token)).ok()
    assert seen["webhook"]["disabledReason"] == "the endpoint answered 410 Gone"
    async with services.sessionmaker() as session:
        before = await session.scalar(select(func.count()).select_from(WebhookDelivery))
    await command(client, token, agent["id"])  # nothing is queued for a webhook that is off
    async with services.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == before


async def test_a_slow_endpoint_delays_no_other(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    release = asyncio.Event()

    async def stuck(_: int) -> int:
        await release.wait()
        return 200

    receiver.answers["/slow"] = stuck
    token = await signed_in(client)
    agent = await create_echo(client, token)
    await create(client, token, receiver, "/slow", eventTypes=["COMMAND_RESULT"])
    await create(client, token, receiver, "/fast", eventTypes=["COMMAND_RESULT"])
    for number in range(5):
        await command(client, token, agent["id"], f"c{number}")
    await receiver.wait_for(lambda: len(receiver.at("/fast")) == 5)
    # The slow endpoint holds its first event (in order, the rest wait behind it).
    assert receiver.counts.get("/slow", 0) <= 1 and receiver.at("/slow") == []
    release.set()
    await receiver.wait_for(lambda: len(receiver.at("/slow")) == 5)


async def test_rotation_signs_with_both_secrets_and_test_webhook_sends_a_synthetic_event(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, receiver, "/rotated")
    old = made["secret"]
    rotated = (await client.execute(ROTATE, {"id": made["webhook"]["id"]}, token=token)).ok()
    new = rotated["rotateWebhookSecret"]["secret"]
    assert new != old
    receiver.secrets.append(new)
    seen = (await client.execute(WEBHOOK, {"id": made["webhook"]["id"]}, token=token)).ok()
    assert seen["webhook"]["previousSecretValidUntil"] is not None
    tested = (await client.execute(TEST, {"id": made["webhook"]["id"]}, token=token)).ok()
    delivery = tested["testWebhook"]
    assert delivery["eventSeq"] == 0 and delivery["agent"] == {"id": agent["id"]}
    await receiver.wait_for(lambda: len(receiver.at("/rotated")) == 1)
    (got,) = receiver.at("/rotated")
    assert got.webhook_id == delivery["id"] and got.body["data"]["data"]["test"] is True
    assert sorted(got.verified_by) == sorted([old, new])
    assert len(got.signature.split(" ")) == 2

    again = await client.execute(REDELIVER, {"id": delivery["id"]}, token=token)
    assert again.ok()["redeliverWebhook"]["id"] == delivery["id"]
    await receiver.wait_for(lambda: len(receiver.at("/rotated")) == 2)
    assert {r.webhook_id for r in receiver.at("/rotated")} == {delivery["id"]}  # same id: dedupe


async def test_replay_queues_every_stored_event_after_a_seq_again(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    for number in range(4):
        await command(client, token, agent["id"], f"c{number}")
    made = await create(client, token, receiver, "/replayed")  # after the events
    last = await services.events.last_seq(agent_id=agent["id"])
    replayed = await client.execute(
        REPLAY, {"id": made["webhook"]["id"], "agentId": agent["id"], "after": 0}, token=token
    )
    assert replayed.ok()["replayWebhook"] == last
    await receiver.wait_for(lambda: len(receiver.at("/replayed")) == last)
    assert [r.seq for r in receiver.at("/replayed")] == list(range(1, last + 1))
    # A replay that would leave more pending than the cap queues nothing at all.
    services.webhooks.replay_cap = last - 1
    async with services.sessionmaker() as session:
        before = await session.scalar(select(func.count()).select_from(WebhookDelivery))
    too_many = await client.execute(
        REPLAY, {"id": made["webhook"]["id"], "agentId": agent["id"], "after": 0}, token=token
    )
    assert too_many.codes == ["QUOTA_EXCEEDED"]
    async with services.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == before
    stranger = await signed_in(client, "stranger@example.com")
    theirs = await create_echo(client, stranger)
    refused = await client.execute(
        REPLAY, {"id": made["webhook"]["id"], "agentId": theirs["id"], "after": 0}, token=token
    )
    # The first account is ADMIN and sees every agent, but this webhook watches its own.
    assert refused.codes == ["BAD_USER_INPUT"]
    assert refused.errors[0]["extensions"]["field"] == "agentId"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "https://user:secret@example.com/hook",
        "not a url",
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/" + "x" * 2000,
        "https://exa mple.com/",
    ],
)
async def test_urls_it_may_not_call_are_refused(
    client: GraphQLClient, services: Services, url: str
) -> None:
    token = await signed_in(client)
    result = await client.execute(CREATE, {"input": {"url": url}}, token=token)
    assert result.codes == ["BAD_USER_INPUT"], result.body
    assert result.errors[0]["extensions"]["field"] == "input.url"


async def test_W5_where_https_leads_is_judged_on_every_attempt(
    client: GraphQLClient, services: Services
) -> None:
    """https is not resolved when registered (names change); the egress policy refuses the
    connection to a metadata address when the delivery is attempted, and nothing is sent."""
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = (
        await client.execute(
            CREATE, {"input": {"url": "https://169.254.169.254/hook"}}, token=token
        )
    ).ok()["createWebhook"]
    await command(client, token, agent["id"])

    async def refused() -> list[dict[str, Any]]:
        rows = await deliveries(client, token, made["webhook"]["id"])
        return [row for row in rows if row["lastError"]]

    found = await eventually(refused)
    assert "egress policy" in found[0]["lastError"] and found[0]["lastStatusCode"] is None


async def test_other_users_webhooks_do_not_exist_for_them_and_the_cap_holds(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    from tests.support.apps import client_at, running_app

    settings = task_settings(database_url, tmp_path / "data", quota_webhooks_per_user=2)
    async with running_app(settings) as app, client_at(app) as client:
        owner = await signed_in(client)
        made = await create(client, owner, receiver, "/a")
        await create(client, owner, receiver, "/b")
        over = await client.execute(CREATE, {"input": {"url": f"{receiver.url}/c"}}, token=owner)
        assert over.codes == ["QUOTA_EXCEEDED"]
        stranger = await signed_in(client, "stranger@example.com")
        webhook_id = made["webhook"]["id"]
        for query, variables in (
            (WEBHOOK, {"id": webhook_id}),
            (UPDATE, {"id": webhook_id, "input": {"active": False}}),
            (ROTATE, {"id": webhook_id}),
            (TEST, {"id": webhook_id}),
            (DELETE, {"id": webhook_id}),
        ):
            result = await client.execute(query, variables, token=stranger)
            assert result.codes == ["NOT_FOUND"], (query, result.body)
        assert (await client.execute(WEBHOOKS, token=stranger)).ok()["webhooks"]["totalCount"] == 0
        assert (await client.execute(WEBHOOKS, token=owner)).ok()["webhooks"]["totalCount"] == 2
        theirs = await create_echo(client, stranger)
        foreign = await client.execute(
            CREATE, {"input": {"url": f"{receiver.url}/d", "agentIds": [theirs["id"]]}}, token=owner
        )
        assert foreign.codes == ["BAD_USER_INPUT"]


async def test_an_event_and_its_deliveries_commit_or_roll_back_together(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    await create(client, token, receiver, "/atomic")

    async def count() -> int:
        async with services.sessionmaker() as session:
            found = await session.scalar(
                select(func.count()).where(col(WebhookDelivery.agent_id) == agent["id"])
            )
        return int(found or 0)

    async def fails_after_the_event() -> None:
        async with services.events.transaction() as written:
            await written.append(agent_id=agent["id"], type=AgentEventType.LOG, data={"n": 1})
            raise RuntimeError("the caller's transaction fails after the event")

    before = await count()
    with pytest.raises(RuntimeError):
        await fails_after_the_event()
    assert await count() == before
    await services.events.record(agent_id=agent["id"], type=AgentEventType.LOG, data={"n": 2})
    assert await count() == before + 1


async def test_W5_a_redirect_is_an_answer_not_followed(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    async def moved(_: int) -> int:
        return 307

    receiver.answers["/moved"] = moved
    receiver.locations["/moved"] = f"{receiver.url}/landed"
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, receiver, "/moved", eventTypes=["COMMAND_RESULT"])
    await command(client, token, agent["id"])
    await receiver.wait_for(lambda: receiver.counts.get("/moved", 0) >= 2)  # retried
    assert "/landed" not in receiver.counts
    (row,) = await deliveries(client, token, made["webhook"]["id"])
    assert row["state"] == "PENDING" and row["lastStatusCode"] == 307
    assert row["lastError"] == "answered HTTP 307"


async def test_the_circuit_opens_after_failures_in_a_row_and_nothing_is_tried_meanwhile(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    from tests.support.apps import client_at, running_app

    async def down(_: int) -> int:
        return 503

    receiver.answers["/down"] = down
    settings = task_settings(
        database_url,
        tmp_path / "data",
        webhook_poll_seconds=0.05,
        webhook_retry_seconds=[0.05] * 20,
        webhook_breaker_failures=3,
        webhook_breaker_seconds=3600,
    )
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        agent = await create_echo(client, token)
        made = await create(client, token, receiver, "/down", eventTypes=["COMMAND_RESULT"])
        await command(client, token, agent["id"])
        await receiver.wait_for(lambda: receiver.counts.get("/down", 0) >= 3)

        async def paused() -> dict[str, Any] | None:
            result = await client.execute(WEBHOOK, {"id": made["webhook"]["id"]}, token=token)
            found = result.ok()["webhook"]
            return found if found["pausedUntil"] else None

        seen = await eventually(paused)
        (row,) = seen["deliveries"]["edges"]
        await command(client, token, agent["id"])  # queued, but not tried while it is open
        await asyncio.sleep(0.5)
        assert receiver.counts["/down"] == 3 and row["node"]["attempts"] == 3
        assert row["node"]["state"] == "PENDING"


async def test_a_test_event_needs_an_agent_to_come_from(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    token = await signed_in(client)
    made = await create(client, token, receiver, "/lonely")
    result = await client.execute(TEST, {"id": made["webhook"]["id"]}, token=token)
    assert result.codes == ["BAD_USER_INPUT"]


async def test_one_users_stuck_endpoints_take_only_their_share_of_the_senders_slots(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """(Q2) Four slots, two per user: a user whose endpoints hold every request leaves
    the other two slots to everyone else."""
    from tests.support.apps import client_at, running_app

    release = asyncio.Event()

    async def stuck(_: int) -> int:
        await release.wait()
        return 200

    receiver.answers["/stuck1"] = receiver.answers["/stuck2"] = stuck
    settings = task_settings(
        database_url,
        tmp_path / "data",
        webhook_poll_seconds=0.05,
        webhook_concurrency=4,
        webhook_owner_concurrency=2,
    )
    async with running_app(settings) as app, client_at(app) as client:
        hog = await signed_in(client, "hog@example.com")
        other = await signed_in(client, "other@example.com")
        for path in ("/stuck1", "/stuck2"):
            await create(client, hog, receiver, path, eventTypes=["COMMAND_RESULT"])
        await create(client, other, receiver, "/free", eventTypes=["COMMAND_RESULT"])
        hogs = [await create_echo(client, hog, name=f"h{n}") for n in range(3)]
        for agent in hogs:
            await command(client, hog, agent["id"])
        theirs = await create_echo(client, other)
        for number in range(3):
            await command(client, other, theirs["id"], f"c{number}")
        await receiver.wait_for(lambda: len(receiver.at("/free")) == 3)
        held = receiver.counts.get("/stuck1", 0) + receiver.counts.get("/stuck2", 0)
        assert held == 2  # six deliveries could be tried at once; the hog's share is two
        release.set()
        await receiver.wait_for(
            lambda: len(receiver.at("/stuck1")) + len(receiver.at("/stuck2")) == 6
        )


async def test_a_secret_sealed_under_other_keys_sends_nothing_until_rotated(
    client: GraphQLClient, services: Services, receiver: Receiver
) -> None:
    """After the server's JWT key material changed, a stored secret cannot be opened:
    nothing goes out unsigned, the delivery says why, and a rotation sends it."""
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, receiver, "/resealed", eventTypes=["COMMAND_RESULT"])
    webhook_id = made["webhook"]["id"]
    async with transaction(services.sessionmaker) as session:
        foreign = SecretBox("other key material").seal(new_secret())
        await session.execute(
            sqlalchemy.update(Webhook).where(col(Webhook.id) == webhook_id).values(secret=foreign)
        )
    await command(client, token, agent["id"])

    async def unreadable() -> list[dict[str, Any]]:
        rows = await deliveries(client, token, webhook_id)
        return [row for row in rows if "cannot be read" in (row["lastError"] or "")]

    (refused, *_) = await eventually(unreadable)
    assert receiver.counts.get("/resealed", 0) == 0
    rotated = (await client.execute(ROTATE, {"id": webhook_id}, token=token)).ok()
    receiver.secrets.append(rotated["rotateWebhookSecret"]["secret"])
    # Its fast retries may all be used up by now: sent again by hand, as a person would.
    # If one was still due, it may go out too: the same delivery twice, at least once.
    (await client.execute(REDELIVER, {"id": refused["id"]}, token=token)).ok()
    await receiver.wait_for(lambda: len(receiver.at("/resealed")) >= 1)
    came = receiver.at("/resealed")
    assert {r.webhook_id for r in came} == {refused["id"]}
    assert all(r.verified_by == [rotated["rotateWebhookSecret"]["secret"]] for r in came)
