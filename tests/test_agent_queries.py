"""Relation fields go through DataLoaders: a list of N agents costs the same statements as 5."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kai.config import Settings
from kai.models.agent_log import LogLevel
from tests.support.agents import COMMAND, create_echo, signed_in
from tests.support.graphql_client import GraphQLClient, nodes
from tests.support.settings import QUIET_HOUSEKEEPING, make_settings
from tests.support.statements import counting_statements

NESTED_AGENTS = """
query {
  agents(first: 100) {
    totalCount
    edges { node {
      id name
      owner { email }
      logs(first: 3) { edges { node { message } } pageInfo { hasNextPage } }
      status {
        state health { status responseTime }
        metrics { commandsTotal p95ResponseMs tasksPending tasksCompleted }
      }
      tasks(first: 5) { totalCount edges { node { id } } }
    } }
  }
}
"""
ENQUEUE = """
mutation Enqueue($agentId: ID!, $input: TaskInput!) {
  enqueueTask(agentId: $agentId, input: $input) { id }
}
"""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # No background sweep while statements are counted: it would be counted too.
    return make_settings(database_url, tmp_path / "data", **QUIET_HOUSEKEEPING)


async def statements_for_agents(app: Any, client: GraphQLClient, token: str, n: int) -> int:
    for index in range(n):
        agent = await create_echo(client, token, name=f"agent-{index}")
        await client.execute(
            COMMAND, {"agentId": agent["id"], "command": {"command": "x"}}, token=token
        )
        for line in range(4):
            await app.state.services.agent_logs.add(
                agent_id=agent["id"], level=LogLevel.INFO, message=f"line {line}"
            )
        # Delayed, so that no worker touches the database while statements are counted.
        task = {"type": "echo", "delaySeconds": 3600}
        (await client.execute(ENQUEUE, {"agentId": agent["id"], "input": task}, token=token)).ok()
    with counting_statements(app) as statements:
        listed = (await client.execute(NESTED_AGENTS, token=token)).ok()["agents"]
    agents = nodes(listed)
    assert len(agents) >= n
    assert listed["totalCount"] == len(agents)
    assert all(a["status"]["metrics"]["commandsTotal"] == 1 for a in agents)
    assert all(
        [e["node"]["message"] for e in a["logs"]["edges"]] == ["line 3", "line 2", "line 1"]
        for a in agents
    )
    assert all(a["logs"]["pageInfo"]["hasNextPage"] for a in agents)
    assert all(len(a["tasks"]["edges"]) == 1 for a in agents)
    assert all(a["tasks"]["totalCount"] == 1 for a in agents)
    assert all(a["status"]["metrics"]["tasksPending"] == 1 for a in agents)
    return len(statements)


async def test_nested_agent_list_issues_the_same_statements_for_5_and_50_agents(
    app: Any, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    other = await signed_in(client, "other@example.com")

    with_5 = await statements_for_agents(app, client, token, 5)
    with_50 = await statements_for_agents(app, client, other, 50)

    assert with_5 == with_50
