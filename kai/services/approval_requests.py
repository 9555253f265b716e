"""The live feed of `approvalRequests`: new PENDING approvals the caller may decide.

A new approval is announced once its transaction has committed, on its agent's owner's
channel and on everyone's (kai.services.approval_gate). A person follows their own
(ADMIN: everyone's), and each announcement is read from its row, the truth: sent if it
is still PENDING and of an agent the caller's API key may use. When the broker's
connection broke and was restored (Interrupted), announcements may have been lost: the
PENDING approvals made since the feed began are read again, and those not sent yet sent.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import timedelta

from kai.events.hub import EventHub, Interrupted
from kai.lru import LRU
from kai.models.approval import Approval, ApprovalState
from kai.models.base import utcnow
from kai.security.principal import Principal
from kai.services.approval_gate import ALL_REQUESTS, requests_channel
from kai.services.approval_queries import ApprovalQueries

# Ids already sent, remembered so that a catch-up does not send one twice.
REMEMBERED = 1000
# Replicas' clocks differ a little: a catch-up reads a little further back, deduplicated.
CLOCK_SLACK = timedelta(seconds=5)


async def follow_requests(
    approvals: ApprovalQueries, hub: EventHub, *, principal: Principal
) -> AsyncGenerator[Approval, None]:
    """New PENDING approvals `principal` may decide, as they come, until the caller stops;
    Overflow when the caller falls too far behind."""
    channel = ALL_REQUESTS if principal.is_admin else requests_channel(principal.user_id)
    sent: LRU[str, bool] = LRU(REMEMBERED)
    async with hub.subscribe(channel) as live:
        # Listening first: whatever commits from now on is announced to this feed.
        since = utcnow() - CLOCK_SLACK
        while True:
            try:
                message = await live.get()
            except Interrupted:
                for missed in await approvals.pending_since(principal=principal, since=since):
                    if missed.id not in sent:
                        sent.add(missed.id, True)
                        yield missed
                continue
            row = await approvals.get(approval_id=str(message.get("approvalId")))
            if row is None or row.state is not ApprovalState.PENDING or row.id in sent:
                continue
            if not principal.may_use_agent(row.agent_id):
                continue
            sent.add(row.id, True)
            yield row
