"""Agents over /graphql: types, create, update, list, status, commands, logs, restart, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.agents import (
    AGENT_FIELDS,
    AGENTS,
    COMMAND,
    CREATE,
    DELETE,
    RESTART,
    STOP,
    create_echo,
    signed_in,
)
from tests.support.apps import client_at, running_app
from tests.support.graphql_client import GraphQLClient, nodes
from tests.support.settings import make_settings

AGENT_TYPES = "query { agentTypes { name description configSchema taskTypes } }"
UPDATE = f"""
mutation Update($id: ID!, $input: AgentConfigPatch!) {{
  updateAgent(id: $id, input: $input) {{ {AGENT_FIELDS} }}
}}
"""
AGENT = f"query Agent($id: ID!) {{ agent(id: $id) {{ {AGENT_FIELDS} }} }}"
STATUS = """
query Status($id: ID!) {
  agentStatus(id: $id) {
    id state
    health { status uptime memoryUsage cpuUsage responseTime }
    metrics { commandsTotal commandsFailed meanResponseMs p95ResponseMs tasksPending }
  }
}
"""
LOGS = """
query Logs($agentId: ID!, $level: LogLevel, $first: Int, $after: String) {
  agentLogs(agentId: $agentId, level: $level, first: $first, after: $after) {
    edges { cursor node { id level message data } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_agent_types_list_echo_with_its_schema(client: GraphQLClient) -> None:
    token = await signed_in(client)

    types = (await client.execute(AGENT_TYPES, token=token)).ok()["agentTypes"]

    echo = next(t for t in types if t["name"] == "echo")
    assert echo["configSchema"]["type"] == "object"
    assert echo["taskTypes"] == ["echo"]


async def test_create_echo_agent_starts_it_running(client: GraphQLClient) -> None:
    token = await signed_in(client)

    agent = await create_echo(client, token, capabilities=["chat", "chat"])

    assert agent["state"] == "RUNNING"
    assert agent["capabilities"] == ["chat"]
    assert agent["resources"] == {"memory": "512Mi", "cpu": "0.5", "storage": "1Gi", "gpu": False}
    assert agent["owner"]["email"] == "owner@example.com"


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"name": "x", "type": "nope"}, "input.type"),
        ({"name": "", "type": "echo"}, "input.name"),
        ({"name": "n" * 200, "type": "echo"}, "input.name"),
        (
            {"name": "x", "type": "echo", "configuration": {"delaySeconds": -1}},
            "input.configuration.delaySeconds",
        ),
        ({"name": "x", "type": "echo", "configuration": {"unknown": 1}}, "input.configuration"),
        ({"name": "x", "type": "echo", "resources": {"memory": "lots"}}, "input.resources.memory"),
    ],
    ids=["unknown-type", "empty-name", "long-name", "schema-minimum", "schema-extra", "bad-memory"],
)
async def test_bad_agent_input_names_the_field(
    client: GraphQLClient, input: dict[str, Any], field: str
) -> None:
    token = await signed_in(client)

    result = await client.execute(CREATE, {"input": input}, token=token)

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == field
    assert nodes((await client.execute(AGENTS, token=token)).ok()["agents"]) == []


async def test_update_agent_changes_only_what_the_patch_names(client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token, capabilities=["a"], configuration={"delaySeconds": 0})

    updated = (
        await client.execute(UPDATE, {"id": agent["id"], "input": {"name": "renamed"}}, token=token)
    ).ok()["updateAgent"]

    assert updated["name"] == "renamed"
    assert updated["capabilities"] == ["a"]
    assert updated["configuration"] == {"delaySeconds": 0}


async def test_agents_of_others_are_not_found_and_not_listed(client: GraphQLClient) -> None:
    admin = await signed_in(client, "admin@example.com")
    alice = await signed_in(client, "alice@example.com")
    bob = await signed_in(client, "bob@example.com")
    agent = await create_echo(client, alice)

    as_bob = await client.execute(AGENT, {"id": agent["id"]}, token=bob)
    bob_list = nodes((await client.execute(AGENTS, token=bob)).ok()["agents"])
    admin_list = nodes((await client.execute(AGENTS, token=admin)).ok()["agents"])

    assert as_bob.codes == ["NOT_FOUND"]
    assert bob_list == []
    assert [a["id"] for a in admin_list] == [agent["id"]]


async def test_echo_command_returns_what_it_was_sent_and_is_measured(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)

    result = (
        await client.execute(
            COMMAND,
            {"agentId": agent["id"], "command": {"command": "ping", "params": {"n": 1}}},
            token=token,
        )
    ).ok()["sendCommand"]
    status = (await client.execute(STATUS, {"id": agent["id"]}, token=token)).ok()["agentStatus"]

    assert result["success"] is True
    assert result["result"] == {"echo": "ping", "params": {"n": 1}}
    assert result["durationMs"] >= 0
    assert status["metrics"]["commandsTotal"] == 1
    assert status["metrics"]["commandsFailed"] == 0
    assert status["metrics"]["meanResponseMs"] == pytest.approx(result["durationMs"])
    assert status["health"]["status"] == "HEALTHY"
    assert status["health"]["uptime"] > 0
    # The echo runtime measures no process usage: null, not made up.
    assert status["health"]["memoryUsage"] is None


async def test_a_new_agent_has_no_measured_response_time(client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)

    status = (await client.execute(STATUS, {"id": agent["id"]}, token=token)).ok()["agentStatus"]

    assert status["health"]["responseTime"] is None
    assert status["metrics"]["meanResponseMs"] is None
    assert status["metrics"]["commandsTotal"] == 0


async def test_same_idempotency_key_returns_the_first_result_without_running_again(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    variables = {"agentId": agent["id"], "command": {"command": "ping"}, "key": "k-1"}

    first = (await client.execute(COMMAND, variables, token=token)).ok()["sendCommand"]
    second = (await client.execute(COMMAND, variables, token=token)).ok()["sendCommand"]
    status = (await client.execute(STATUS, {"id": agent["id"]}, token=token)).ok()["agentStatus"]

    assert second == first
    assert status["metrics"]["commandsTotal"] == 1


async def test_a_command_that_times_out_fails_and_counts_as_failed(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data", command_timeout_seconds=0.05)
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        agent = await create_echo(client, token, configuration={"delaySeconds": 1})

        result = (
            await client.execute(
                COMMAND, {"agentId": agent["id"], "command": {"command": "slow"}}, token=token
            )
        ).ok()["sendCommand"]
        answer = await client.execute(STATUS, {"id": agent["id"]}, token=token)
        status = answer.ok()["agentStatus"]

    assert result["success"] is False
    assert "timed out" in result["error"]
    assert status["metrics"]["commandsFailed"] == 1
    assert status["health"]["status"] == "DEGRADED"


async def test_restart_goes_through_stopped_and_starting_back_to_running(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)

    restarted = (await client.execute(RESTART, {"id": agent["id"]}, token=token)).ok()

    assert restarted["restartAgent"]["state"] == "RUNNING"


async def test_commands_to_a_deleted_agent_are_not_found(client: GraphQLClient) -> None:
    await signed_in(client, "admin@example.com")
    token = await client.register("dev@example.com")
    agent = await create_echo(client, token["accessToken"])

    deleted = await client.execute(DELETE, {"id": agent["id"]}, token=token["accessToken"])
    after = await client.execute(
        COMMAND, {"agentId": agent["id"], "command": {"command": "x"}}, token=token["accessToken"]
    )

    # A USER may not delete (DEVELOPER and ADMIN may).
    assert deleted.codes == ["FORBIDDEN"]
    assert after.ok()["sendCommand"]["success"] is True


async def test_owner_with_agent_delete_deletes_and_then_it_is_gone(client: GraphQLClient) -> None:
    token = await signed_in(client, "admin@example.com")
    agent = await create_echo(client, token)

    deleted = (await client.execute(DELETE, {"id": agent["id"]}, token=token)).ok()
    after = await client.execute(AGENT, {"id": agent["id"]}, token=token)

    assert deleted["deleteAgent"] == agent["id"]
    assert after.codes == ["NOT_FOUND"]


async def test_commands_to_a_stopped_agent_are_agent_unavailable(client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)

    stopped = (await client.execute(STOP, {"id": agent["id"]}, token=token)).ok()["stopAgent"]
    result = await client.execute(
        COMMAND, {"agentId": agent["id"], "command": {"command": "x"}}, token=token
    )
    status = (await client.execute(STATUS, {"id": agent["id"]}, token=token)).ok()["agentStatus"]

    assert stopped["state"] == "STOPPED"
    assert result.codes == ["AGENT_UNAVAILABLE"]
    assert status["health"] == {
        "status": "UNHEALTHY",
        "uptime": 0.0,
        "memoryUsage": None,
        "cpuUsage": None,
        "responseTime": None,
    }


async def test_an_illegal_state_change_is_a_conflict(app: Any, client: GraphQLClient) -> None:
    from kai.errors import Conflict
    from kai.models.agent import AgentState

    token = await signed_in(client)
    agent = await create_echo(client, token)
    agents = app.state.services.agents

    with pytest.raises(Conflict):
        await agents.transition(agent_id=agent["id"], to=AgentState.STARTING, reason="test")
    await agents.stop(agent_id=agent["id"], reason="test")
    with pytest.raises(Conflict):
        await agents.transition(agent_id=agent["id"], to=AgentState.RUNNING, reason="test")


async def test_another_users_agent_is_not_found_and_the_denial_is_audited(
    client: GraphQLClient,
) -> None:
    admin = await signed_in(client, "admin@example.com")
    alice = await signed_in(client, "alice@example.com")
    bob = await signed_in(client, "bob@example.com")
    agent = await create_echo(client, alice)

    result = await client.execute(
        COMMAND, {"agentId": agent["id"], "command": {"command": "x"}}, token=bob
    )
    audit = await client.execute(
        'query { auditLog(action: "agent.command", granted: false) '
        "{ edges { node { resource user { email } } } } }",
        token=admin,
    )

    assert result.codes == ["NOT_FOUND"]
    assert [e["node"] for e in audit.ok()["auditLog"]["edges"]] == [
        {"resource": f"agent:{agent['id']}", "user": {"email": "bob@example.com"}}
    ]


async def test_an_api_key_limited_to_one_agent_sees_no_other(client: GraphQLClient) -> None:
    registered = await client.register("owner@example.com")
    token = registered["accessToken"]
    first = await create_echo(client, token, name="first")
    second = await create_echo(client, token, name="second")
    key = (await client.create_api_key(token, agentIds=[first["id"]]))["secret"]

    listed = nodes((await client.execute(AGENTS, token=key)).ok()["agents"])
    other = await client.execute(AGENT, {"id": second["id"]}, token=key)

    assert [a["id"] for a in listed] == [first["id"]]
    assert other.codes == ["NOT_FOUND"]


def test_redact_hides_values_under_secret_looking_keys() -> None:
    from kai.services.agent_config import REDACTED, redact

    redacted = redact({"apiKey": "s3cret", "nested": [{"db_password": "x"}], "plain": 1})

    assert redacted == {"apiKey": REDACTED, "nested": [{"db_password": REDACTED}], "plain": 1}


async def test_an_api_key_cannot_name_unknown_or_foreign_agents(client: GraphQLClient) -> None:
    await signed_in(client, "admin@example.com")
    alice = await signed_in(client, "alice@example.com")
    bob = await signed_in(client, "bob@example.com")
    alices = await create_echo(client, alice)

    for agent_ids in ([alices["id"]], ["agt_" + "0" * 32]):
        result = await client.execute(
            "mutation($input: ApiKeyInput!) { createApiKey(input: $input) { secret } }",
            {"input": {"name": "k", "agentIds": agent_ids}},
            token=bob,
        )
        assert result.codes == ["BAD_USER_INPUT"]
        assert result.errors[0]["extensions"]["field"] == "input.agentIds"
