"""Agents as a client makes them: a signed-in user, an echo agent, the agent documents."""

from __future__ import annotations

from typing import Any

from tests.support.graphql_client import GraphQLClient

AGENT_FIELDS = """
  id name type capabilities configuration state lastSeen createdAt updatedAt
  resources { memory cpu storage gpu }
  owner { email }
"""
CREATE = f"""
mutation Create($input: AgentConfigInput!) {{ createAgent(input: $input) {{ {AGENT_FIELDS} }} }}
"""
AGENTS = "query { agents { edges { node { id name owner { email } } } } }"
COMMAND = """
mutation Command($agentId: ID!, $command: AgentCommandInput!, $key: String) {
  sendCommand(agentId: $agentId, command: $command, idempotencyKey: $key) {
    success result error timestamp durationMs
  }
}
"""
RESTART = "mutation Restart($id: ID!) { restartAgent(id: $id) { id state } }"
STOP = "mutation Stop($id: ID!) { stopAgent(id: $id) { id state } }"
DELETE = "mutation Delete($id: ID!) { deleteAgent(id: $id) }"


async def signed_in(client: GraphQLClient, email: str = "owner@example.com") -> str:
    """The access token of a newly registered user."""
    return str((await client.register(email))["accessToken"])


async def create_echo(client: GraphQLClient, token: str, **input: Any) -> dict[str, Any]:
    """A new echo agent ("echo-1" unless `name` says otherwise), as createAgent answers."""
    input.setdefault("name", "echo-1")
    input.setdefault("type", "echo")
    result = await client.execute(CREATE, {"input": input}, token=token)
    return result.ok()["createAgent"]  # type: ignore[no-any-return]
