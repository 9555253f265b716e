"""kai_sdk.client's approvals (packages/kai-sdk/graphql/operations/approvals.graphql, the
ApprovalRequests subscription, `iter_approvals`) against a real server on its own thread
(tests/test_client_python.py's), with KaiClient and AsyncKaiClient, for an echo agent
whose approval policy holds `deploy` and `echo`: a command answers with the approval it
waits for and a task is AWAITING_APPROVAL; each arrives on approvalRequests, after what was
listed once subscribed; listed newest first a page at a time; approved, the task runs to its
end; a second decision is ConflictError; rejected, a task is CANCELLED with the reason."""

from __future__ import annotations

import asyncio
import queue
import threading
from contextlib import aclosing, closing

import pytest

from kai_sdk.client import AsyncKaiClient, ConflictError, KaiClient, aio, sync
from tests.test_client_python import EMAIL, WAIT, akai, kai, server

__all__ = ["akai", "kai", "server"]  # fixtures

ECHO = {"steps": 1, "stepSeconds": 0}


def _gated(kai: KaiClient) -> str:
    policy = sync.ApprovalPolicyInput(commands=["deploy"], task_types=["echo"], timeout_seconds=600)
    made = kai.create_agent(
        sync.AgentConfigInput(name="gated", type_="echo", approval_policy=policy)
    ).create_agent
    assert made.approval_policy.model_dump(by_alias=True) == {
        "commands": ["deploy"],
        "taskTypes": ["echo"],
        "timeoutSeconds": 600,
    }
    return made.id


def test_approvals_sync(kai: KaiClient) -> None:
    agent_id = _gated(kai)
    task = kai.enqueue_task(agent_id, sync.TaskInput(type_="echo", payload=ECHO)).enqueue_task
    assert task.state is sync.TaskState.AWAITING_APPROVAL and task.approval is not None
    # Subscribed, then listed: what waited before comes from the list, the rest live.
    listed: list[str] = []
    subscribed = threading.Event()
    arrived: queue.Queue[sync.fragments.ApprovalFields] = queue.Queue()

    def on_subscribed() -> None:
        pending = sync.ApprovalFilter(states=[sync.ApprovalState.PENDING])
        listed.extend(approval.id for approval in kai.iter_approvals(pending))
        subscribed.set()

    def follow() -> None:
        with closing(kai.approval_requests(on_subscribed=on_subscribed)) as requests:
            for request in requests:
                # One asked a few seconds before subscribing may come too: by id, as listed.
                if request.id not in listed:
                    arrived.put(request)
                    return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert subscribed.wait(WAIT)
    assert listed == [task.approval.id]

    held = kai.command(agent_id, "deploy", {"version": 7})
    assert held.success is False and held.result is None and held.approval is not None
    assert held.approval.state is sync.ApprovalState.PENDING
    live = arrived.get(timeout=WAIT)
    reader.join(WAIT)
    assert live.id == held.approval.id and live.kind is sync.ApprovalKind.COMMAND
    assert live.subject == {"command": "deploy", "params": {"version": 7}}
    assert live.agent.id == agent_id and live.requested_by.email == EMAIL

    ids = [approval.id for approval in kai.iter_approvals(page_size=1)]
    assert ids == [held.approval.id, task.approval.id]
    decided = kai.decide_approval(task.approval.id, True, reason="go").decide_approval
    assert decided.state is sync.ApprovalState.APPROVED and decided.reason == "go"
    assert decided.decided_by is not None and decided.decided_by.email == EMAIL
    assert kai.wait_for_task(task.id).state is sync.TaskState.COMPLETED
    with pytest.raises(ConflictError):
        kai.decide_approval(task.approval.id, False)
    kinds = sync.ApprovalFilter(kinds=[sync.ApprovalKind.TASK], agent_id=agent_id)
    page = kai.approvals(kinds, with_total=True).approvals
    assert page.total_count == 1 and page.edges[0].node.state is sync.ApprovalState.APPROVED
    assert kai.approval(held.approval.id).approval.state is sync.ApprovalState.PENDING  # type: ignore[union-attr]


async def test_approvals_async(akai: AsyncKaiClient) -> None:
    policy = aio.ApprovalPolicyInput(task_types=["echo"], timeout_seconds=600)
    agent = (
        await akai.create_agent(
            aio.AgentConfigInput(name="gated", type_="echo", approval_policy=policy)
        )
    ).create_agent
    first: asyncio.Future[aio.fragments.ApprovalFields] = asyncio.get_running_loop().create_future()

    async def follow() -> None:
        async with aclosing(akai.approval_requests()) as requests:
            async for data in requests:
                first.set_result(data.approval_requests)
                return

    reader = asyncio.create_task(follow())
    queued: list[str] = []
    # The subscription sends what is asked from the moment it starts: ask until it has.
    while not first.done() and len(queued) < 20:
        input = aio.TaskInput(type_="echo", payload=ECHO)
        task = (await akai.enqueue_task(agent.id, input)).enqueue_task
        assert task.approval is not None
        queued.append(task.approval.id)
        await asyncio.wait({first}, timeout=0.5)
    live = await asyncio.wait_for(first, WAIT)
    await reader
    assert live.id in queued and live.kind is aio.ApprovalKind.TASK

    async with aclosing(akai.iter_approvals(page_size=2)) as approvals:
        every = [approval.id async for approval in approvals]
    assert every == list(reversed(queued))
    rejected = (await akai.decide_approval(queued[0], False, reason="no")).decide_approval
    assert rejected.state is aio.ApprovalState.REJECTED
    found = await akai.tasks(aio.TaskFilter(agent_id=agent.id, states=[aio.TaskState.CANCELLED]))
    [cancelled] = [edge.node for edge in found.tasks.edges]
    assert cancelled.error == "Approval rejected: no"
    assert cancelled.approval is not None and cancelled.approval.id == queued[0]
