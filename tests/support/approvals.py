"""Approvals as a client sees them: the documents, people with agents under a policy, and
reading what the server stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from kai.models.agent_event import AgentEvent, AgentEventType
from kai.models.approval import Approval as ApprovalRow
from kai.services.shared import Services
from tests.support.graphql_client import GraphQLClient

APPROVAL_FIELDS = """
  id kind subject state reason createdAt expiresAt decidedAt
  agent { id } requestedBy { email } decidedBy { email }
"""
CREATE_AGENT = """
mutation Create($input: AgentConfigInput!) {
  createAgent(input: $input) {
    id state approvalPolicy { commands taskTypes timeoutSeconds }
  }
}
"""
UPDATE_AGENT = """
mutation Update($id: ID!, $input: AgentConfigPatch!) {
  updateAgent(id: $id, input: $input) { id approvalPolicy { commands taskTypes timeoutSeconds } }
}
"""
SEND = f"""
mutation Send($agentId: ID!, $command: AgentCommandInput!, $key: String) {{
  sendCommand(agentId: $agentId, command: $command, idempotencyKey: $key) {{
    success result error approval {{ {APPROVAL_FIELDS} }}
  }}
}}
"""
ENQUEUE = f"""
mutation Enqueue($agentId: ID!, $input: TaskInput!, $key: String) {{
  enqueueTask(agentId: $agentId, input: $input, idempotencyKey: $key) {{
    id state error approval {{ {APPROVAL_FIELDS} }}
  }}
}}
"""
TASK = f"""
query Task($id: ID!) {{
  task(id: $id) {{ id state error result approval {{ {APPROVAL_FIELDS} }} }}
}}
"""
DECIDE = f"""
mutation Decide($id: ID!, $approve: Boolean!, $reason: String) {{
  decideApproval(id: $id, approve: $approve, reason: $reason) {{ {APPROVAL_FIELDS} }}
}}
"""
REQUEST = f"""
mutation Request($agentId: ID!, $subject: JSON!, $timeoutSeconds: Float) {{
  requestApproval(agentId: $agentId, subject: $subject, timeoutSeconds: $timeoutSeconds) {{
    {APPROVAL_FIELDS}
  }}
}}
"""
APPROVAL = f"query Approval($id: ID!) {{ approval(id: $id) {{ {APPROVAL_FIELDS} }} }}"
APPROVALS = """
query Approvals($filter: ApprovalFilter, $first: Int, $after: String) {
  approvals(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id kind state agent { id } } }
  }
}
"""
REQUESTS = f"subscription Requests {{ approvalRequests {{ {APPROVAL_FIELDS} }} }}"
GATED = {"commands": ["deploy"], "taskTypes": ["echo"], "timeoutSeconds": 600}


@dataclass
class Person:
    """A signed-in user of the test's server."""

    client: GraphQLClient
    email: str
    token: str
    user_id: str

    async def run(self, query: str, token: str | None = None, **variables: Any) -> Any:
        """The operation's data; the test fails on any error."""
        result = await self.client.execute(query, variables, token=token or self.token)
        return result.ok()

    async def attempt(self, query: str, token: str | None = None, **variables: Any) -> Any:
        """The whole answer, errors and all."""
        return await self.client.execute(query, variables, token=token or self.token)

    async def agent(self, policy: dict[str, Any] | None = GATED, **input: Any) -> str:
        """A new agent of this person's (echo unless told), under `policy`."""
        input.setdefault("name", "gated")
        input.setdefault("type", "echo")
        if policy is not None:
            input["approvalPolicy"] = policy
        return str((await self.run(CREATE_AGENT, input=input))["createAgent"]["id"])

    async def key(self, *permissions: str, agent_ids: list[str] | None = None) -> str:
        made = await self.client.create_api_key(
            self.token, permissions=list(permissions), agentIds=agent_ids
        )
        return str(made["secret"])


async def person(client: GraphQLClient, email: str) -> Person:
    """A newly registered user (the first one registered is ADMIN)."""
    registered = await client.register(email)
    return Person(client, email, registered["accessToken"], registered["user"]["id"])


def error_field(result: Any) -> tuple[list[str], str | None]:
    """(codes, the extensions.field of the first error)."""
    first = result.errors[0].get("extensions", {}) if result.errors else {}
    return result.codes, first.get("field")


async def approvals_stored(services: Services) -> int:
    async with services.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(ApprovalRow)) or 0)


async def events_of(
    services: Services, agent_id: str, *types: AgentEventType
) -> list[dict[str, Any]]:
    """The data of the agent's stored events of these types, in order."""
    async with services.sessionmaker() as session:
        rows = await session.scalars(
            select(AgentEvent)
            .where(col(AgentEvent.agent_id) == agent_id, col(AgentEvent.type).in_(types))
            .order_by(col(AgentEvent.seq))
        )
        return [{"type": row.type.value, **row.data} for row in rows]
