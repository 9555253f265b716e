"""The live feed of `approvalRequests`: new PENDING approvals the caller may decide.

A new approval is announced once its transaction has committed, on its agent's owner's
channel and on everyone's (kai.services.approval_gate). A person follows their own
(ADMIN: everyone's), and each announcement is read from its row, the truth: sent if it
is still PENDING and of an agent the caller's API key may use. Announcements can miss a
feed twice, and both times the PENDING approvals made since the subscriber asked are read
and those not sent yet sent: at the start (made while the subscription was being
authorized, before the feed listened), and when the broker's connection broke and was
restored (Interrupted). The window reaches CLOCK_SLACK further back, for replicas' clocks:
a feed may start with an approval made just before it was asked, which a client that read
the list meanwhile already has (it goes by id).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime, timedelta

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
    approvals: ApprovalQueries,
    hub: EventHub,
    *,
    principal: Principal,
    asked: datetime | None = None,
) -> AsyncGenerator[Approval, None]:
    """New PENDING approvals `principal` may decide, as they come, until the caller stops;
    Overflow when the caller falls too far behind. `asked`: when the subscriber asked, before
    the checks that came first; approvals made since then reach it too."""
    channel = ALL_REQUESTS if principal.is_admin else requests_channel(principal.user_id)
    sent: LRU[str, bool] = LRU(REMEMBERED)

    async def not_sent_since(since: datetime) -> AsyncGenerator[Approval, None]:
        for missed in await approvals.pending_since(principal=principal, since=since):
            if missed.id not in sent:
                sent.add(missed.id, True)
                yield missed

    async with hub.subscribe(channel) as live:
        # Listening first: whatever commits from now on is announced to this feed. What was
        # announced between the subscriber's asking and now (its authorization took a round
        # trip or two) came to nobody: read it, so that a client that subscribes and then
        # reads the list misses nothing between the two.
        listening = utcnow()
        since = min(asked or listening, listening) - CLOCK_SLACK
        async for missed in not_sent_since(since):
            yield missed
        while True:
            try:
                message = await live.get()
            except Interrupted:
                async for missed in not_sent_since(since):
                    yield missed
                continue
            row = await approvals.get(approval_id=str(message.get("approvalId")))
            if row is None or row.state is not ApprovalState.PENDING or row.id in sent:
                continue
            if not principal.may_use_agent(row.agent_id):
                continue
            sent.add(row.id, True)
            yield row
