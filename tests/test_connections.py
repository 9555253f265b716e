"""Lists are Relay connections: filters, orders, totalCount, signed cursors.

Paging through a list visits every row it holds exactly once, in its order, whatever the
page size, even while rows are added; each filter keeps what it says; a cursor that the
server did not write for that list and order is refused before any statement runs; and a
page costs one statement, the count another, whatever its size.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kai.config import Settings
from kai.models.base import utcnow
from tests.support.agents import create_echo, signed_in
from tests.support.files import PNG
from tests.support.graphql_client import GraphQLClient
from tests.support.settings import QUIET_HOUSEKEEPING, make_settings
from tests.support.statements import counting_statements
from tests.support.uploads import upload

AGENTS = """
query Agents($filter: AgentFilter, $orderBy: AgentOrder, $first: Int, $after: String) {
  agents(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    edges { cursor node { id name state type capabilities createdAt owner { email } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
AGENT_IDS = """
query Agents($filter: AgentFilter, $orderBy: AgentOrder, $first: Int, $after: String) {
  agents(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    edges { node { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
TASKS = """
query Tasks($filter: TaskFilter, $orderBy: TaskOrder, $first: Int, $after: String) {
  tasks(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    edges { node { id type state priority retries timeoutSeconds runAt createdAt
                   agent { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ENQUEUE = """
mutation Enqueue($agentId: ID!, $input: TaskInput!) {
  enqueueTask(agentId: $agentId, input: $input) { id retries timeoutSeconds runAt createdAt }
}
"""
API_KEYS = """
query Keys($includeRevoked: Boolean, $first: Int, $after: String) {
  apiKeys(includeRevoked: $includeRevoked, first: $first, after: $after) {
    totalCount edges { node { id name active } } pageInfo { hasNextPage endCursor }
  }
}
"""
USERS = """
query Users($filter: UserFilter, $first: Int, $after: String) {
  users(filter: $filter, first: $first, after: $after) {
    totalCount edges { node { id email role active } } pageInfo { hasNextPage endCursor }
  }
}
"""
UPDATE = (
    "mutation U($id: ID!, $input: AgentConfigPatch!) { updateAgent(id: $id, input: $input) { id } }"
)
STOP = "mutation Stop($id: ID!) { stopAgent(id: $id) { id state } }"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # No background housekeeping while statements are counted: it would be counted too.
    return make_settings(database_url, tmp_path / "data", **QUIET_HOUSEKEEPING)


async def every_page(
    client: GraphQLClient, token: str, query: str, field: str, size: int, **variables: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every node of a list, page by page; and each page's connection."""
    nodes: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    after = None
    while True:
        result = await client.execute(
            query, {**variables, "first": size, "after": after}, token=token
        )
        page = result.ok()[field]
        pages.append(page)
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert len(pages) > 1 or len(nodes) <= size
            return nodes, pages
        after = page["pageInfo"]["endCursor"]


def random_name(rng: random.Random) -> str:
    letters = string.ascii_letters + string.digits
    return "".join(rng.choice(letters) for _ in range(rng.randint(1, 12)))


async def make_agents(
    client: GraphQLClient, token: str, rng: random.Random, count: int
) -> list[dict[str, Any]]:
    agents = []
    for _ in range(count):
        capabilities = rng.sample(["search", "write", "plan", "10%_off"], rng.randint(0, 3))
        agents.append(
            await create_echo(client, token, name=random_name(rng), capabilities=capabilities)
        )
    return agents


def expected_order(agents: list[dict[str, Any]], field: str, descending: bool) -> list[str]:
    def key(agent: dict[str, Any]) -> tuple[Any, str]:
        value = agent["name"].lower() if field == "NAME" else agent["createdAt"]
        return value, agent["id"]

    return [a["id"] for a in sorted(agents, key=key, reverse=descending)]


@pytest.mark.parametrize("seed", [1, 2])
async def test_paging_visits_every_agent_once_in_each_order(
    client: GraphQLClient, seed: int
) -> None:
    rng = random.Random(seed)
    token = await signed_in(client)
    agents = await make_agents(client, token, rng, 23)
    # Names that tie, so that the id decides between them.
    agents += [await create_echo(client, token, name="Same") for _ in range(3)]
    agents += [await create_echo(client, token, name="same") for _ in range(2)]

    for field in ("CREATED_AT", "NAME"):
        for direction in ("ASC", "DESC"):
            size = rng.randint(1, 9)
            order = {"field": field, "direction": direction}
            nodes, pages = await every_page(client, token, AGENTS, "agents", size, orderBy=order)
            assert [n["id"] for n in nodes] == expected_order(agents, field, direction == "DESC"), (
                field,
                direction,
                size,
            )
            assert {page["totalCount"] for page in pages} == {len(agents)}
            assert all(len(page["edges"]) == size for page in pages[:-1])

    default, _ = await every_page(client, token, AGENT_IDS, "agents", 50)
    assert [n["id"] for n in default] == expected_order(agents, "CREATED_AT", True)


async def test_rows_added_while_paging_neither_repeat_nor_skip_one(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)
    rng = random.Random(7)
    before = await make_agents(client, token, rng, 12)
    order = {"field": "NAME", "direction": "ASC"}

    def key(agent: dict[str, Any]) -> tuple[str, str]:
        return agent["name"].lower(), agent["id"]

    seen: list[str] = []
    # Each agent added between pages, with the position the paging had reached then.
    added: list[tuple[dict[str, Any], tuple[str, str]]] = []
    after = None
    while True:
        variables = {"orderBy": order, "first": 4, "after": after}
        page = (await client.execute(AGENTS, variables, token=token)).ok()["agents"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        reached = key(page["edges"][-1]["node"])
        added += [(agent, reached) for agent in await make_agents(client, token, rng, 2)]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert len(seen) == len(set(seen))
    assert {a["id"] for a in before} <= set(seen)
    # An agent added meanwhile is seen exactly when it sorts past the position reached.
    later = {agent["id"] for agent, reached in added if key(agent) > reached}
    assert set(seen) - {a["id"] for a in before} == later


async def test_each_agent_filter_keeps_what_it_says(client: GraphQLClient) -> None:
    rng = random.Random(11)
    token = await signed_in(client)
    agents = await make_agents(client, token, rng, 20)
    stopped = rng.sample(agents, 6)
    for agent in stopped:
        (await client.execute(STOP, {"id": agent["id"]}, token=token)).ok()
    state = {a["id"]: "STOPPED" if a in stopped else a["state"] for a in agents}
    filters: list[tuple[dict[str, Any], set[str]]] = [
        ({"states": ["STOPPED"]}, {a["id"] for a in stopped}),
        ({"states": []}, set()),
        ({"types": ["echo"]}, {a["id"] for a in agents}),
        ({"types": ["llm", "remote"]}, set()),
        ({"capability": "10%_off"}, {a["id"] for a in agents if "10%_off" in a["capabilities"]}),
        # LIKE's wildcards are the client's literal characters.
        ({"capability": "%"}, set()),
        ({"nameContains": "%"}, set()),
        ({"nameContains": "_"}, set()),
    ]
    for _ in range(12):
        fragment = rng.choice(agents)["name"]
        start = rng.randint(0, len(fragment) - 1)
        fragment = fragment[start : start + rng.randint(1, 3)]
        fragment = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in fragment)
        filters.append(
            (
                {"nameContains": fragment},
                {a["id"] for a in agents if fragment.lower() in a["name"].lower()},
            )
        )
    for _ in range(8):  # two conditions at once: both must hold
        capability = rng.choice(["search", "write", "plan"])
        wanted = rng.choice(["STOPPED", "RUNNING"])
        filters.append(
            (
                {"capability": capability, "states": [wanted]},
                {
                    a["id"]
                    for a in agents
                    if capability in a["capabilities"] and state[a["id"]] == wanted
                },
            )
        )

    for chosen, expected in filters:
        nodes, pages = await every_page(client, token, AGENTS, "agents", 7, filter=chosen)
        assert {n["id"] for n in nodes} == expected, chosen
        assert pages[0]["totalCount"] == len(expected), chosen


async def test_owner_id_is_an_admins_filter(client: GraphQLClient) -> None:
    admin = await signed_in(client, "admin@example.com")  # the first account is ADMIN
    alice = await signed_in(client, "alice@example.com")
    bob = await signed_in(client, "bob@example.com")
    alices = {(await create_echo(client, alice, name=f"a{i}"))["id"] for i in range(3)}
    bobs = {(await create_echo(client, bob, name=f"b{i}"))["id"] for i in range(2)}
    alice_id = (await client.execute("{ me { id } }", token=alice)).ok()["me"]["id"]
    bob_id = (await client.execute("{ me { id } }", token=bob)).ok()["me"]["id"]

    everyone, _ = await every_page(client, admin, AGENT_IDS, "agents", 50)
    assert {n["id"] for n in everyone} == alices | bobs
    hers, _ = await every_page(client, admin, AGENT_IDS, "agents", 50, filter={"ownerId": alice_id})
    assert {n["id"] for n in hers} == alices
    own, _ = await every_page(client, alice, AGENT_IDS, "agents", 50, filter={"ownerId": alice_id})
    assert {n["id"] for n in own} == alices
    mine, _ = await every_page(client, bob, AGENT_IDS, "agents", 50)
    assert {n["id"] for n in mine} == bobs

    refused = await client.execute(AGENT_IDS, {"filter": {"ownerId": alice_id}}, token=bob)
    assert refused.codes == ["FORBIDDEN"]
    assert bob_id != alice_id


def forgeries(rng: random.Random, cursor: str, foreign: list[str]) -> Iterator[str]:
    """Cursors that this server did not write for the agents list in this order."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))

    def encode(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    for _ in range(40):
        data = bytearray(raw)
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)  # one bit flipped, anywhere
        yield encode(bytes(data))
    yield encode(raw[: rng.randrange(len(raw))])  # cut short
    yield encode(raw + b"x")
    yield encode(raw[:16] + raw[16:].replace(b"agents", b"agentz"))
    yield cursor[:-1]
    yield cursor + "A"
    yield ""
    yield "x" * 5000
    yield "!!not base64!!"
    yield encode(rng.randbytes(rng.randint(1, 80)))
    # The old unsigned format: base64 of "createdAt|id".
    yield encode(b"2026-01-01T00:00:00+00:00|agt_0")
    yield from foreign


async def test_G5_forged_cursors_are_refused_before_any_statement_runs(
    app: Any, client: GraphQLClient
) -> None:
    rng = random.Random(5)
    token = await signed_in(client)
    for index in range(4):
        await create_echo(client, token, name=f"n{index}")
    page = (await client.execute(AGENT_IDS, {"first": 2}, token=token)).ok()["agents"]
    cursor = page["pageInfo"]["endCursor"]
    by_name = {"field": "NAME", "direction": "ASC"}
    named = (await client.execute(AGENT_IDS, {"first": 2, "orderBy": by_name}, token=token)).ok()[
        "agents"
    ]["pageInfo"]["endCursor"]
    enqueued = await client.execute(
        ENQUEUE,
        {"agentId": page["edges"][0]["node"]["id"], "input": {"type": "echo", "delaySeconds": 600}},
        token=token,
    )
    enqueued.ok()
    task_cursor = (await client.execute(TASKS, {"first": 1}, token=token)).ok()["tasks"][
        "pageInfo"
    ]["endCursor"]
    # Good cursors, of another list or another order of this one.
    foreign = [named, task_cursor]

    refused = 0
    for forged in forgeries(rng, cursor, foreign):
        if forged == cursor:
            continue
        with counting_statements(app) as statements:
            result = await client.execute(AGENT_IDS, {"first": 2, "after": forged}, token=token)
        assert result.codes == ["BAD_USER_INPUT"], forged
        assert result.errors[0]["extensions"]["field"] == "after"
        assert not [s for s in statements if "FROM agent" in s], forged
        refused += 1
    assert refused > 50
    # The genuine one still works.
    (await client.execute(AGENT_IDS, {"first": 2, "after": cursor}, token=token)).ok()


@pytest.mark.parametrize(
    ("query", "field"),
    [(AGENTS, "agents"), (TASKS, "tasks"), (API_KEYS, "apiKeys"), (USERS, "users")],
)
async def test_G5_a_page_is_one_statement_and_the_count_another(
    app: Any, client: GraphQLClient, query: str, field: str
) -> None:
    token = await signed_in(client, "admin@example.com")
    for index in range(30):
        agent = await create_echo(client, token, name=f"agent{index}")
        task = {"type": "echo", "delaySeconds": 3600}
        (await client.execute(ENQUEUE, {"agentId": agent["id"], "input": task}, token=token)).ok()
        await signed_in(client, f"user{index}@example.com")
        created = await client.execute(
            "mutation K($input: ApiKeyInput!) { createApiKey(input: $input) { secret } }",
            {"input": {"name": f"key{index}"}},
            token=token,
        )
        created.ok()

    counts = []
    for size in (2, 25):
        await client.execute("{ me { id } }", token=token)  # the token's own checks, first
        with counting_statements(app) as statements:
            page = (await client.execute(query, {"first": size}, token=token)).ok()[field]
        assert len(page["edges"]) == size
        assert page["totalCount"] >= 30
        listed = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        counts.append(len(listed))
    assert counts[0] == counts[1], counts


async def test_a_task_reads_back_its_retries_timeout_and_due_time(client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    before = utcnow()
    asked = {"type": "echo", "delaySeconds": 600, "retries": 3, "timeoutSeconds": 42.5}
    task = (
        await client.execute(ENQUEUE, {"agentId": agent["id"], "input": asked}, token=token)
    ).ok()["enqueueTask"]
    assert task["retries"] == 3
    assert task["timeoutSeconds"] == 42.5
    from datetime import datetime

    run_at = datetime.fromisoformat(task["runAt"])
    assert before + timedelta(seconds=599) <= run_at <= utcnow() + timedelta(seconds=601)

    plain = (
        await client.execute(
            ENQUEUE,
            {"agentId": agent["id"], "input": {"type": "echo", "delaySeconds": 600}},
            token=token,
        )
    ).ok()["enqueueTask"]
    assert plain["retries"] == 0
    assert plain["timeoutSeconds"] == 3600  # the server's default, as the worker applies it


async def test_each_task_filter_and_order(client: GraphQLClient) -> None:
    rng = random.Random(3)
    await signed_in(client, "admin@example.com")  # the first account is ADMIN: sees all
    token = await signed_in(client)
    other = await signed_in(client, "other@example.com")
    agents = [await create_echo(client, token, name=f"a{i}") for i in range(3)]
    theirs = await create_echo(client, other, name="theirs")
    tasks = []
    for _ in range(17):
        agent = rng.choice(agents)
        priority = rng.randint(-3, 3)
        asked = {"type": "echo", "delaySeconds": 600, "priority": priority}
        created = (
            await client.execute(ENQUEUE, {"agentId": agent["id"], "input": asked}, token=token)
        ).ok()["enqueueTask"]
        tasks.append({**created, "priority": priority, "agent": agent["id"]})
    (
        await client.execute(
            ENQUEUE,
            {"agentId": theirs["id"], "input": {"type": "echo", "delaySeconds": 600}},
            token=other,
        )
    ).ok()

    nodes, pages = await every_page(client, token, TASKS, "tasks", 5)
    assert [n["id"] for n in nodes] == [
        t["id"] for t in sorted(tasks, key=lambda t: (t["createdAt"], t["id"]), reverse=True)
    ]
    assert pages[0]["totalCount"] == 17
    for direction in ("ASC", "DESC"):
        by_priority, _ = await every_page(
            client,
            token,
            TASKS,
            "tasks",
            4,
            orderBy={"field": "PRIORITY", "direction": direction},
        )
        assert [n["id"] for n in by_priority] == [
            t["id"]
            for t in sorted(
                tasks, key=lambda t: (t["priority"], t["id"]), reverse=direction == "DESC"
            )
        ]
    one = agents[1]["id"]
    mine, _ = await every_page(client, token, TASKS, "tasks", 50, filter={"agentId": one})
    assert {n["id"] for n in mine} == {t["id"] for t in tasks if t["agent"] == one}
    pending, _ = await every_page(
        client, token, TASKS, "tasks", 50, filter={"states": ["PENDING"], "types": ["echo"]}
    )
    assert len(pending) == 17
    none, _ = await every_page(client, token, TASKS, "tasks", 50, filter={"states": ["FAILED"]})
    assert none == []
    middle = sorted(t["createdAt"] for t in tasks)[8]
    later, _ = await every_page(client, token, TASKS, "tasks", 50, filter={"createdAfter": middle})
    assert {n["id"] for n in later} == {t["id"] for t in tasks if t["createdAt"] > middle}
    # Another user's agent is not the caller's to list.
    refused = await client.execute(TASKS, {"filter": {"agentId": theirs["id"]}}, token=token)
    assert refused.codes == ["NOT_FOUND"]


async def test_api_keys_hide_revoked_ones_unless_asked(client: GraphQLClient) -> None:
    token = await signed_in(client)
    ids = []
    for index in range(5):
        created = await client.execute(
            "mutation K($input: ApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }",
            {"input": {"name": f"key{index}"}},
            token=token,
        )
        ids.append(created.ok()["createApiKey"]["apiKey"]["id"])
    revoke = "mutation R($id: ID!) { revokeApiKey(id: $id) { id active } }"
    (await client.execute(revoke, {"id": ids[1]}, token=token)).ok()

    live, pages = await every_page(client, token, API_KEYS, "apiKeys", 2)
    assert [n["id"] for n in live] == [i for i in reversed(ids) if i != ids[1]]
    assert pages[0]["totalCount"] == 4
    every, pages = await every_page(client, token, API_KEYS, "apiKeys", 2, includeRevoked=True)
    assert [n["id"] for n in every] == list(reversed(ids))
    assert pages[0]["totalCount"] == 5


async def test_users_filters(client: GraphQLClient) -> None:
    admin = await signed_in(client, "admin@example.com")
    emails = [f"{name}@example.com" for name in ("ann", "bea", "cat", "dan_x", "eve")]
    for email in emails:
        await signed_in(client, email)
    ids = {n["email"]: n["id"] for n in (await every_page(client, admin, USERS, "users", 50))[0]}
    disable = "mutation D($id: ID!) { setUserActive(userId: $id, active: false) { id } }"
    (await client.execute(disable, {"id": ids["bea@example.com"]}, token=admin)).ok()

    everyone, pages = await every_page(client, admin, USERS, "users", 2)
    assert [n["email"] for n in everyone] == ["admin@example.com", *emails]  # oldest first
    assert pages[0]["totalCount"] == 6
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"roles": ["ADMIN"]}, ["admin@example.com"]),
        ({"roles": ["USER", "DEVELOPER"]}, emails),
        ({"active": False}, ["bea@example.com"]),
        ({"emailContains": "AN"}, ["ann@example.com", "dan_x@example.com"]),
        ({"emailContains": "_"}, ["dan_x@example.com"]),
        ({"emailContains": "%"}, []),
    ]
    for chosen, expected in cases:
        found, pages = await every_page(client, admin, USERS, "users", 50, filter=chosen)
        assert [n["email"] for n in found] == expected, chosen
        assert pages[0]["totalCount"] == len(expected)


async def test_G5_filters_are_bounded(client: GraphQLClient) -> None:
    token = await signed_in(client)
    too_many = await client.execute(
        AGENT_IDS, {"filter": {"types": [f"t{i}" for i in range(101)]}}, token=token
    )
    assert too_many.codes == ["BAD_USER_INPUT"]
    assert too_many.errors[0]["extensions"]["field"] == "filter.types"
    too_long = await client.execute(AGENT_IDS, {"filter": {"nameContains": "x" * 201}}, token=token)
    assert too_long.codes == ["BAD_USER_INPUT"]
    for first in (0, -1, 501):
        refused = await client.execute(AGENT_IDS, {"first": first}, token=token)
        assert refused.codes == ["BAD_USER_INPUT"]


async def test_an_api_key_limited_to_agents_lists_only_theirs(client: GraphQLClient) -> None:
    token = await signed_in(client)
    agents = [await create_echo(client, token, name=f"a{i}") for i in range(4)]
    for agent in agents:
        task = {"type": "echo", "delaySeconds": 600}
        (await client.execute(ENQUEUE, {"agentId": agent["id"], "input": task}, token=token)).ok()
    narrowed = [agents[0]["id"], agents[2]["id"]]
    key = (
        await client.execute(
            "mutation K($input: ApiKeyInput!) { createApiKey(input: $input) { secret } }",
            {"input": {"name": "narrow", "agentIds": narrowed}},
            token=token,
        )
    ).ok()["createApiKey"]["secret"]

    seen, pages = await every_page(client, key, AGENT_IDS, "agents", 50)
    assert {n["id"] for n in seen} == set(narrowed)
    tasks, pages = await every_page(client, key, TASKS, "tasks", 50)
    assert {n["agent"]["id"] for n in tasks} == set(narrowed)
    assert pages[0]["totalCount"] == 2


FILES = """
query Files($filter: FileFilter, $orderBy: FileOrder, $first: Int, $after: String) {
  files(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    edges { node { id originalName size mimeType uploadedAt agent { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_each_file_order_and_filter(client: GraphQLClient) -> None:
    rng = random.Random(13)
    await signed_in(client, "admin@example.com")  # the first account is ADMIN: sees all
    token = await signed_in(client)
    other = await signed_in(client, "other@example.com")
    agent = await create_echo(client, token)
    files = []
    for index in range(14):
        png = rng.random() < 0.4
        content = PNG + b"\0" * rng.randint(0, 50) if png else b"x" * rng.randint(1, 90)
        name = f"{random_name(rng)}.{'png' if png else 'txt'}"
        uploaded = await upload(
            client,
            token,
            content,
            filename=name,
            content_type="image/png" if png else "text/plain",
            agent_id=agent["id"] if index % 3 == 0 else None,
        )
        files.append(uploaded.ok()["uploadFile"])
    await upload(client, other, b"not yours")

    def ids(nodes: list[dict[str, Any]]) -> list[str]:
        return [n["id"] for n in nodes]

    keys = {
        "UPLOADED_AT": lambda f: (f["uploadedAt"], f["id"]),
        "NAME": lambda f: (f["originalName"].lower(), f["id"]),
        "SIZE": lambda f: (f["size"], f["id"]),
    }
    for field, key in keys.items():
        for direction in ("ASC", "DESC"):
            found, pages = await every_page(
                client,
                token,
                FILES,
                "files",
                rng.randint(1, 6),
                orderBy={"field": field, "direction": direction},
            )
            expected = sorted(files, key=key, reverse=direction == "DESC")
            assert ids(found) == ids(expected), (field, direction)
            assert pages[0]["totalCount"] == len(files)
    newest, _ = await every_page(client, token, FILES, "files", 50)
    assert ids(newest) == ids(sorted(files, key=keys["UPLOADED_AT"], reverse=True))

    middle = sorted(f["uploadedAt"] for f in files)[6]
    cases: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
        ({"mimeTypes": ["image/png"]}, [f for f in files if f["mimeType"] == "image/png"]),
        ({"mimeTypes": ["text/plain", "image/png"]}, files),
        ({"agentId": agent["id"]}, [f for f in files if f["agent"]]),
        ({"nameContains": ".PNG"}, [f for f in files if f["originalName"].endswith(".png")]),
        ({"uploadedAfter": middle}, [f for f in files if f["uploadedAt"] > middle]),
        ({"uploadedBefore": middle}, [f for f in files if f["uploadedAt"] < middle]),
    ]
    for chosen, expected in cases:
        found, pages = await every_page(client, token, FILES, "files", 4, filter=chosen)
        assert set(ids(found)) == set(ids(expected)), chosen
        assert pages[0]["totalCount"] == len(expected), chosen
