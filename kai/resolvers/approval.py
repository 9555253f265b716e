"""Approvals: seen by whoever sees their agent, decided by whoever holds `approval.decide`
on it (never with the API key that asked for it), asked for by a remote agent's process.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from kai.context import Info
from kai.errors import ErrorCode, Forbidden, KaiError
from kai.events.hub import Overflow
from kai.models.agent import Agent as AgentRow
from kai.models.approval import Approval as ApprovalRow
from kai.models.approval import ApprovalKind
from kai.models.base import utcnow
from kai.resolvers.agent import close_too_slow, load_agent
from kai.resolvers.remote import PROCESS_PERMISSION, load_remote
from kai.schema.approval import Approval, ApprovalConnection, ApprovalEdge, ApprovalFilter
from kai.schema.pagination import After, First
from kai.services.approval import MAX_REASON
from kai.services.approval_gate import MAX_SUBJECT_BYTES, MAX_SUBJECT_DEPTH
from kai.services.approval_policy import MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS
from kai.services.approval_queries import ApprovalFilter as ApprovalFilterValue

ApprovalId = Annotated[strawberry.ID, strawberry.argument(description="The approval's id.")]
DECIDE = "approval.decide"


async def load_approval(
    info: Info, approval_id: str, permission: str, *, action: str = "", permitted: bool = True
) -> tuple[ApprovalRow, AgentRow]:
    """The approval and its agent, if the caller holds `permission` on that agent; else
    FORBIDDEN or NOT_FOUND (audited; `action` is added to the audited resource)."""
    services = info.context.services
    row = await services.approvals.get(approval_id=approval_id)
    agent = await services.agents.get(agent_id=row.agent_id) if row is not None else None
    await info.context.authorize(
        permission,
        resource=f"approval:{approval_id}{action}",
        owner_id=agent.owner_id if agent is not None else None,
        found=row is not None and agent is not None,
        agent_id=row.agent_id if row is not None else None,
        permitted=permitted,
    )
    assert row is not None and agent is not None
    return row, agent


async def sight_of(info: Info, approval_id: str) -> ApprovalRow:
    """An approval the caller may see: by `agent.read` on its agent or, for what a remote
    agent's process asked (ACTION), by the process's own `agent.command`."""
    principal = await info.context.principal()
    permission = "agent.read"
    if not principal.can(permission) and principal.can(PROCESS_PERMISSION):
        found = await info.context.services.approvals.get(approval_id=approval_id)
        if found is not None and found.kind is ApprovalKind.ACTION:
            permission = PROCESS_PERMISSION
    row, _ = await load_approval(info, approval_id, permission)
    return row


@strawberry.type
class ApprovalQuery:
    @strawberry.field(
        description="Approvals the caller may see: for their own agents, and every one for "
        "those with approval.decide on all agents. Newest first."
    )
    async def approvals(
        self,
        info: Info,
        filter: Annotated[
            ApprovalFilter | None,
            strawberry.argument(description="Which approvals to list; null lists them all."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> ApprovalConnection:
        chosen = filter.value() if filter is not None else ApprovalFilterValue()
        if chosen.agent_id is not None:
            await load_agent(info, chosen.agent_id, "agent.read")
            principal = await info.context.principal()
        else:
            principal = await info.context.authorize("agent.read", resource="approval:*")
        page = await info.context.services.approvals.page(
            principal=principal, filter=chosen, first=first, after=after
        )
        return ApprovalConnection.of(page, ApprovalEdge, Approval.from_row)

    @strawberry.field(
        description="One approval, if the caller may see it (a remote agent's process: what "
        "it asked for)."
    )
    async def approval(self, info: Info, id: ApprovalId) -> Approval | None:
        return Approval.from_row(await sight_of(info, str(id)))


@strawberry.type
class ApprovalMutation:
    @strawberry.mutation(
        description="Approves or rejects a PENDING approval of an agent the caller sees, with "
        "approval.decide; the work it gates goes on or is refused. Decided once: a second "
        "decision, or one after it expired, is CONFLICT. Never with the API key that asked."
    )
    async def decide_approval(
        self,
        info: Info,
        id: ApprovalId,
        approve: Annotated[
            bool, strawberry.argument(description="True lets the work run; false refuses it.")
        ],
        reason: Annotated[
            str | None,
            strawberry.argument(description=f"Why, up to {MAX_REASON} characters; kept with it."),
        ] = None,
    ) -> Approval:
        principal = await info.context.principal()
        found = await info.context.services.approvals.get(approval_id=str(id))
        # A process must not approve what it asked for itself.
        asker = principal.api_key_id is not None and (
            found is not None and found.requested_with_key == principal.api_key_id
        )
        verb = " approve" if approve else " reject"
        try:
            row, _ = await load_approval(info, str(id), DECIDE, action=verb, permitted=not asker)
        except Forbidden:
            if asker:
                raise KaiError(
                    "An approval is never decided with the API key that asked for it.",
                    code=ErrorCode.FORBIDDEN,
                    permission=DECIDE,
                ) from None
            raise
        async with info.context.auditor.sharing() as audit:
            decided = await info.context.services.approvals.decide(
                approval_id=row.id,
                approve=approve,
                reason=reason,
                decided_by=principal.user_id,
                also=audit,
            )
        return Approval.from_row(decided)

    @strawberry.mutation(
        description="For a REMOTE agent process: ask a person before doing something; follow "
        "it on agentInbox or approval(id)."
    )
    async def request_approval(
        self,
        info: Info,
        agent_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The remote agent that the process runs."),
        ],
        subject: Annotated[
            JSON,
            strawberry.argument(
                description="What the person decides on, as JSON: at most "
                f"{MAX_SUBJECT_BYTES // 1024} KiB written out, {MAX_SUBJECT_DEPTH} levels deep."
            ),
        ],
        timeout_seconds: Annotated[
            float | None,
            strawberry.argument(
                description=f"How long it stays open, {MIN_TIMEOUT_SECONDS:g} to "
                f"{MAX_TIMEOUT_SECONDS:g} seconds; null: the agent's approvalPolicy's."
            ),
        ] = None,
    ) -> Approval:
        agent = await load_remote(info, str(agent_id))
        principal = await info.context.principal()
        async with info.context.auditor.sharing() as audit:
            row = await info.context.services.approvals.request(
                agent=agent,
                requested_by=principal.user_id,
                requested_with_key=principal.api_key_id,
                subject=subject,
                timeout_seconds=timeout_seconds,
                also=audit,
            )
        return Approval.from_row(row)


@strawberry.type
class ApprovalSubscription:
    @strawberry.subscription(
        description="New PENDING approvals the caller may decide, live: every one asked "
        "since the subscription was sent, and possibly one asked a few seconds before (which "
        "a list read meanwhile may hold already: go by id)."
    )
    async def approval_requests(self, info: Info) -> AsyncGenerator[Approval, None]:
        asked = utcnow()
        principal = await info.context.authorize(DECIDE, resource="approval:*")
        await info.context.auditor.flush()
        requests = info.context.services.approvals.requests(principal=principal, asked=asked)
        try:
            # aclosing: a stopped subscription leaves the hub now, not when collected.
            async with aclosing(requests):
                async for row in requests:
                    # Each result reads related objects afresh (its agent, its requester).
                    info.context.renew_loaders()
                    yield Approval.from_row(row)
        except Overflow:
            await close_too_slow(info)
