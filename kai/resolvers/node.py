"""`node(id)`: the id's prefix names the table; every kind gets its own authorisation (G10)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from kai.context import Info
from kai.errors import NotFound
from kai.models.base import utcnow
from kai.resolvers.agent import load_agent
from kai.resolvers.approval import sight_of
from kai.resolvers.file import load_file
from kai.resolvers.schedule import load_schedule
from kai.resolvers.task import load_task
from kai.resolvers.thread import load_message, load_thread
from kai.resolvers.webhook import load_delivery, load_webhook
from kai.schema.agent import Agent
from kai.schema.api_key import ApiKey
from kai.schema.approval import Approval
from kai.schema.audit import AuditEntry
from kai.schema.file import File
from kai.schema.node import Node
from kai.schema.schedule import Schedule
from kai.schema.task import Task
from kai.schema.thread import Message, Thread
from kai.schema.user import User
from kai.schema.webhook import Webhook, WebhookDelivery
from kai.services.audit import entry_number


async def _user(info: Info, node_id: str) -> Node:
    row = await info.context.services.users.get(user_id=node_id)
    principal = await info.context.principal()
    if row is not None and row.id == principal.user_id:
        return User.from_row(row)
    # Other accounts are visible to those who may list users; to anyone else
    # they do not exist (NOT_FOUND, as for a missing one).
    await info.context.authorize(
        "user.read", resource=f"user:{node_id}", found=row is not None, hide_denial=True
    )
    assert row is not None
    return User.from_row(row)


async def _api_key(info: Info, node_id: str) -> Node:
    row = await info.context.services.api_keys.get(key_id=node_id)
    await info.context.authorize(
        "apikey.manage",
        resource=f"apikey:{node_id}",
        owner_id=row.user_id if row else None,
        found=row is not None,
    )
    assert row is not None
    return ApiKey.from_row(row, now=utcnow())


async def _audit_entry(info: Info, node_id: str) -> Node:
    number = entry_number(node_id.removeprefix("aud_"))
    row = await info.context.services.audit.get(entry_id=number) if number is not None else None
    await info.context.authorize("system.audit", resource=f"audit:{node_id}", found=row is not None)
    assert row is not None
    return AuditEntry.from_row(row)


async def _agent(info: Info, node_id: str) -> Node:
    return Agent.from_row(await load_agent(info, node_id, "agent.read"))


async def _task(info: Info, node_id: str) -> Node:
    return Task.from_row(await load_task(info, node_id, "task.read"))


async def _file(info: Info, node_id: str) -> Node:
    return File.from_row(await load_file(info, node_id, "file.download"))


async def _schedule(info: Info, node_id: str) -> Node:
    row, _ = await load_schedule(info, node_id, "schedule.read")
    return Schedule.from_row(row)


async def _webhook(info: Info, node_id: str) -> Node:
    return Webhook.from_row(await load_webhook(info, node_id))


async def _delivery(info: Info, node_id: str) -> Node:
    return WebhookDelivery.from_row(await load_delivery(info, node_id))


async def _thread(info: Info, node_id: str) -> Node:
    return Thread.from_row(await load_thread(info, node_id))


async def _message(info: Info, node_id: str) -> Node:
    return Message.from_row(await load_message(info, node_id))


async def _approval(info: Info, node_id: str) -> Node:
    return Approval.from_row(await sight_of(info, node_id))


RESOLVERS = {
    "usr": _user,
    "key": _api_key,
    "aud": _audit_entry,
    "agt": _agent,
    "tsk": _task,
    "sch": _schedule,
    "whk": _webhook,
    "whd": _delivery,
    "apr": _approval,
    "thr": _thread,
    "msg": _message,
    "fil": _file,
}


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its id, if the caller may see it.")
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="The id of a User, ApiKey, AuditEntry, Agent, Task or File."
            ),
        ],
    ) -> Node | None:
        await info.context.principal()
        prefix, _, _ = str(id).partition("_")
        resolver = RESOLVERS.get(prefix)
        if resolver is None:
            raise NotFound()
        return await resolver(info, str(id))
