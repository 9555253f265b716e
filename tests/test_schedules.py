"""Schedules over /graphql on SQLite and PostgreSQL, with the schedule clock in the test's
hands: one task per due time however many ticks race for it, one-off runs, pause and
resume, missed runs, changes, refusals, caps, and who may see what."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlmodel import col

from kai.config import Settings
from kai.db import transaction
from kai.models.schedule import Schedule as ScheduleRow
from kai.models.task import Task as TaskRow
from kai.models.task import TaskState
from kai.services.shared import Services
from tests.support.agents import DELETE, create_echo, signed_in
from tests.support.apps import services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.tasks import row_in, task_settings

SCHEDULE_FIELDS = """
  id name cron timezone runAt active nextRunAt lastRunAt createdAt
  agent { id }
  task { type payload priority retries timeoutSeconds }
"""
CREATE = f"""
mutation Create($input: ScheduleInput!) {{ createSchedule(input: $input) {{ {SCHEDULE_FIELDS} }} }}
"""
UPDATE = f"""
mutation Update($id: ID!, $input: SchedulePatch!) {{
  updateSchedule(id: $id, input: $input) {{ {SCHEDULE_FIELDS} }}
}}
"""
DELETE_SCHEDULE = "mutation Delete($id: ID!) { deleteSchedule(id: $id) }"
RUN_NOW = "mutation RunNow($id: ID!) { runScheduleNow(id: $id) { id state schedule { id } } }"
SCHEDULE = f"""
query Schedule($id: ID!) {{
  schedule(id: $id) {{
    {SCHEDULE_FIELDS}
    tasks {{ totalCount edges {{ node {{ id state schedule {{ id }} }} }} }}
  }}
}}
"""
SCHEDULES = """
query Schedules($agentId: ID) {
  schedules(agentId: $agentId) { totalCount edges { node { id name } } }
}
"""
TASKS_OF = """
query TasksOf($id: ID!) { tasks(filter: {scheduleId: $id}) { totalCount edges { node { id } } } }
"""


class Clock:
    """The schedules' time, moved by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The background tick stays out of the way: the test ticks when it means to.
    return task_settings(database_url, tmp_path / "data", schedule_tick_seconds=3600)


@pytest.fixture
def services(app: Any) -> Services:
    return services_of(app)


@pytest.fixture
def clock(services: Services) -> Clock:
    clock = Clock(datetime(2026, 3, 28, 23, 58, 30, tzinfo=UTC))
    services.schedules.clock = clock
    return clock


def at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def create(client: GraphQLClient, token: str, agent_id: str, **input: Any) -> dict[str, Any]:
    input.setdefault("name", "nightly")
    input.setdefault("task", {"type": "echo", "payload": {"hello": 1}})
    result = await client.execute(CREATE, {"input": {"agentId": agent_id, **input}}, token=token)
    return result.ok()["createSchedule"]  # type: ignore[no-any-return]


async def tasks_of(services: Services, schedule_id: str) -> list[TaskRow]:
    async with services.sessionmaker() as session:
        rows = await session.scalars(
            select(TaskRow)
            .where(col(TaskRow.schedule_id) == schedule_id)
            .order_by(col(TaskRow.created_at))
        )
        return list(rows)


def lost(by: str) -> float:
    return REGISTRY.get_sample_value("kai_schedule_claims_lost_total", {"by": by}) or 0.0


async def tick(services: Services, times: int = 1) -> int:
    """`times` ticks at once, as that many processes would."""
    started = await asyncio.gather(*(services.schedules.run_due() for _ in range(times)))
    return sum(started)


async def test_each_due_time_starts_one_task_however_many_ticks_race(
    client: GraphQLClient, services: Services, clock: Clock
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, agent["id"], cron="*/5 * * * *", timezone="Europe/Berlin")
    assert made["cron"] == "*/5 * * * *" and made["timezone"] == "Europe/Berlin"
    assert at(made["nextRunAt"]) == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert await tick(services, 4) == 0  # not due yet

    clock.now = datetime(2026, 3, 29, 0, 0, 1, tzinfo=UTC)
    moved, duplicate = lost("moved"), lost("duplicate")
    assert await tick(services, 8) == 1
    assert await tick(services, 8) == 0
    # The guarded update turned every other tick away: none reached the unique due time.
    assert lost("duplicate") == duplicate and lost("moved") > moved
    (task,) = await tasks_of(services, made["id"])
    assert task.scheduled_for == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert task.owner_id and task.type == "echo" and task.payload == {"hello": 1}
    await row_in(services, task.id, TaskState.COMPLETED)

    seen = (await client.execute(SCHEDULE, {"id": made["id"]}, token=token)).ok()["schedule"]
    assert at(seen["lastRunAt"]) == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert at(seen["nextRunAt"]) == datetime(2026, 3, 29, 0, 5, tzinfo=UTC)
    assert seen["tasks"]["totalCount"] == 1
    node = seen["tasks"]["edges"][0]["node"]
    assert node == {"id": task.id, "state": "COMPLETED", "schedule": {"id": made["id"]}}
    listed = (await client.execute(TASKS_OF, {"id": made["id"]}, token=token)).ok()["tasks"]
    assert [edge["node"]["id"] for edge in listed["edges"]] == [task.id]


async def test_a_one_off_schedule_runs_once_at_its_time(
    client: GraphQLClient, services: Services, clock: Clock
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    when = clock.now + timedelta(hours=2)
    made = await create(
        client, token, agent["id"], runAt=when.astimezone(ZoneInfo("Asia/Tokyo")).isoformat()
    )
    assert made["runAt"].endswith(("Z", "+00:00"))  # answered in UTC, as stored
    assert made["cron"] is None and at(made["runAt"]) == when and at(made["nextRunAt"]) == when
    clock.now = when + timedelta(seconds=1)
    assert await tick(services, 3) == 1
    clock.now += timedelta(days=1)
    assert await tick(services) == 0
    seen = (await client.execute(SCHEDULE, {"id": made["id"]}, token=token)).ok()["schedule"]
    assert seen["nextRunAt"] is None and at(seen["lastRunAt"]) == when


async def test_runs_missed_while_nothing_ticked_start_once(
    client: GraphQLClient, services: Services, clock: Clock
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, agent["id"], cron="*/15 * * * *")
    due = at(made["nextRunAt"])
    clock.now = due + timedelta(hours=3, minutes=7)  # twelve runs missed
    assert await tick(services) == 1
    assert await tick(services) == 0
    (task,) = await tasks_of(services, made["id"])
    assert task.scheduled_for == due
    seen = (await client.execute(SCHEDULE, {"id": made["id"]}, token=token)).ok()["schedule"]
    assert at(seen["nextRunAt"]) == due + timedelta(hours=3, minutes=15)


async def test_paused_schedules_start_nothing_and_resume_from_now(
    client: GraphQLClient, services: Services, clock: Clock
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, agent["id"], cron="0 * * * *")
    paused = await update(client, token, made["id"], active=False)
    assert paused["active"] is False and paused["nextRunAt"] is None
    clock.now += timedelta(hours=5)
    assert await tick(services) == 0
    resumed = await update(client, token, made["id"], active=True)
    assert at(resumed["nextRunAt"]) == clock.now.replace(minute=0, second=0) + timedelta(hours=1)
    assert await tick(services) == 0
    assert await tasks_of(services, made["id"]) == []


async def update(client: GraphQLClient, token: str, schedule_id: str, **patch: Any) -> Any:
    result = await client.execute(UPDATE, {"id": schedule_id, "input": patch}, token=token)
    return result.ok()["updateSchedule"]


async def test_changes_find_the_next_run_again(
    client: GraphQLClient, services: Services, clock: Clock
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, agent["id"], cron="0 9 * * *")
    assert at(made["nextRunAt"]) == datetime(2026, 3, 29, 9, tzinfo=UTC)
    in_berlin = await update(client, token, made["id"], timezone="Europe/Berlin")
    assert at(in_berlin["nextRunAt"]) == datetime(2026, 3, 29, 7, tzinfo=UTC)  # 09:00 CEST
    once = await update(client, token, made["id"], runAt="2026-04-01T12:00:00+02:00")
    assert once["cron"] is None and at(once["nextRunAt"]) == datetime(2026, 4, 1, 10, tzinfo=UTC)
    renamed = await update(
        client, token, made["id"], name="renamed", task={"type": "echo", "priority": 7}
    )
    assert renamed["name"] == "renamed" and renamed["task"]["priority"] == 7
    assert renamed["nextRunAt"] == once["nextRunAt"] and renamed["runAt"] == once["runAt"]
    back = await update(client, token, made["id"], cron="30 * * * *")
    assert back["runAt"] is None and at(back["nextRunAt"]) == datetime(
        2026, 3, 29, 0, 30, tzinfo=UTC
    )


async def test_run_now_starts_a_task_and_leaves_the_timetable(
    client: GraphQLClient, services: Services, clock: Clock
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, agent["id"], cron="0 0 1 * *")
    started = (await client.execute(RUN_NOW, {"id": made["id"]}, token=token)).ok()
    task = started["runScheduleNow"]
    assert task["schedule"] == {"id": made["id"]}
    await row_in(services, task["id"], TaskState.COMPLETED)
    seen = (await client.execute(SCHEDULE, {"id": made["id"]}, token=token)).ok()["schedule"]
    assert seen["nextRunAt"] == made["nextRunAt"]
    assert seen["tasks"]["totalCount"] == 1


async def test_deleting_a_schedule_keeps_its_tasks_and_deleting_its_agent_removes_it(
    client: GraphQLClient, services: Services, clock: Clock
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = await create(client, token, agent["id"], cron="0 0 1 * *")
    task = (await client.execute(RUN_NOW, {"id": made["id"]}, token=token)).ok()["runScheduleNow"]
    deleted = await client.execute(DELETE_SCHEDULE, {"id": made["id"]}, token=token)
    assert deleted.ok()["deleteSchedule"] == made["id"]
    kept = await row_in(services, task["id"], TaskState.COMPLETED)
    assert kept.schedule_id is None
    gone = await client.execute(SCHEDULE, {"id": made["id"]}, token=token)
    assert gone.codes == ["NOT_FOUND"]

    other = await create(client, token, agent["id"], cron="0 0 1 * *")
    await client.execute(DELETE, {"id": agent["id"]}, token=token)
    assert await services.schedules.get(schedule_id=other["id"]) is None


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"cron": "* * * *"}, "input.cron"),
        ({"cron": "0 0 31 2 *"}, "input.cron"),
        ({"cron": "*/5 * * * *", "timezone": "Mars/Olympus"}, "input.timezone"),
        ({"cron": "*/5 * * * *", "runAt": "2026-05-01T00:00:00Z"}, "input.cron"),
        ({}, "input.cron"),
        ({"cron": "0 * * * *", "name": "  "}, "input.name"),
        ({"cron": "0 * * * *", "name": "x" * 101}, "input.name"),
        ({"cron": "0 * * * *", "task": {"type": "nope"}}, "input.task.type"),
        ({"cron": "0 * * * *", "task": {"type": "echo", "retries": 21}}, "input.task.retries"),
        (
            {"cron": "0 * * * *", "task": {"type": "echo", "delaySeconds": 5}},
            "input.task.delaySeconds",
        ),
    ],
)
async def test_what_does_not_hold_is_refused_naming_the_field(
    client: GraphQLClient, services: Services, clock: Clock, input: dict[str, Any], field: str
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    values = {"name": "s", "task": {"type": "echo"}, **input}
    result = await client.execute(
        CREATE, {"input": {"agentId": agent["id"], **values}}, token=token
    )
    assert result.codes == ["BAD_USER_INPUT"], result.body
    assert result.errors[0]["extensions"]["field"] == field
    async with services.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(TaskRow)) == 0


async def test_Q1_the_minimum_interval_and_the_per_user_cap_hold(
    database_url: str, tmp_path: Path
) -> None:
    from tests.support.apps import client_at, running_app

    settings = task_settings(
        database_url,
        tmp_path / "data",
        schedule_tick_seconds=3600,
        schedule_min_interval_seconds=300,
        quota_schedules_per_user=2,
    )
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        agent = await create_echo(client, token)
        for cron in ("*/2 * * * *", "0,1 * * * *"):
            refused = await client.execute(
                CREATE,
                {
                    "input": {
                        "agentId": agent["id"],
                        "name": "s",
                        "cron": cron,
                        "task": {"type": "echo"},
                    }
                },
                token=token,
            )
            assert refused.codes == ["BAD_USER_INPUT"] and "5 min" in refused.errors[0]["message"]
        await create(client, token, agent["id"], cron="*/5 * * * *")
        await create(client, token, agent["id"], runAt="2030-01-01T00:00:00Z")
        over = await client.execute(
            CREATE,
            {
                "input": {
                    "agentId": agent["id"],
                    "name": "s",
                    "cron": "0 * * * *",
                    "task": {"type": "echo"},
                }
            },
            token=token,
        )
        assert over.codes == ["QUOTA_EXCEEDED"]
        assert over.errors[0]["extensions"]["limit"] == 2


async def test_a_run_its_owner_has_no_room_for_is_recorded_as_failed(
    database_url: str, tmp_path: Path
) -> None:
    from tests.support.apps import client_at, running_app

    settings = task_settings(
        database_url, tmp_path / "data", schedule_tick_seconds=3600, quota_queued_tasks_per_user=0
    )
    async with running_app(settings) as app, client_at(app) as client:
        services = services_of(app)
        clock = Clock(datetime(2026, 6, 1, 11, 59, tzinfo=UTC))
        services.schedules.clock = clock
        token = await signed_in(client)
        agent = await create_echo(client, token)
        made = await create(client, token, agent["id"], cron="0 * * * *")
        clock.now += timedelta(minutes=2)
        assert await tick(services, 2) == 1
        (task,) = await tasks_of(services, made["id"])
        assert task.state is TaskState.FAILED and task.error is not None
        assert task.error.startswith("not queued:") and task.scheduled_for == datetime(
            2026, 6, 1, 12, tzinfo=UTC
        )
        seen = (await client.execute(SCHEDULE, {"id": made["id"]}, token=token)).ok()["schedule"]
        assert at(seen["nextRunAt"]) == datetime(2026, 6, 1, 13, tzinfo=UTC)


async def test_other_users_schedules_do_not_exist_for_them(
    client: GraphQLClient, services: Services, clock: Clock
) -> None:
    owner = await signed_in(client)
    agent = await create_echo(client, owner)
    made = await create(client, owner, agent["id"], cron="0 * * * *")
    stranger = await signed_in(client, "stranger@example.com")
    for query, variables in (
        (SCHEDULE, {"id": made["id"]}),
        (UPDATE, {"id": made["id"], "input": {"active": False}}),
        (DELETE_SCHEDULE, {"id": made["id"]}),
        (RUN_NOW, {"id": made["id"]}),
        (SCHEDULES, {"agentId": agent["id"]}),
        (
            CREATE,
            {
                "input": {
                    "agentId": agent["id"],
                    "name": "x",
                    "cron": "0 * * * *",
                    "task": {"type": "echo"},
                }
            },
        ),
    ):
        result = await client.execute(query, variables, token=stranger)
        assert result.codes == ["NOT_FOUND"], (query, result.body)
    mine = (await client.execute(SCHEDULES, {}, token=stranger)).ok()["schedules"]
    assert mine == {"totalCount": 0, "edges": []}
    theirs = (await client.execute(SCHEDULES, {}, token=owner)).ok()["schedules"]
    assert [edge["node"]["id"] for edge in theirs["edges"]] == [made["id"]]
    assert await services.schedules.get(schedule_id=made["id"]) is not None


async def test_a_schedule_that_cannot_start_holds_back_no_other(
    client: GraphQLClient, services: Services, clock: Clock
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    broken = await create(client, token, agent["id"], name="broken", cron="0 * * * *")
    fine = [
        await create(client, token, agent["id"], name=f"s{n}", cron="0 * * * *") for n in range(3)
    ]
    async with transaction(services.sessionmaker) as session:
        # A zone the server no longer knows (a row from an older tz database, say).
        gone = sqlalchemy.update(ScheduleRow).values(timezone="Gone/Zone")
        await session.execute(gone.where(col(ScheduleRow.id) == broken["id"]))
    clock.now += timedelta(hours=1)
    for _ in range(3):  # whatever order the tick takes them in
        await tick(services)
    for made in fine:
        assert len(await tasks_of(services, made["id"])) == 1
    assert await tasks_of(services, broken["id"]) == []
