"""Two real `kai serve` replicas and a `kai worker` on PostgreSQL and Redis, all ticking
schedules, through an hour of simulated time: every due time of every schedule starts
exactly one task, none doubled, none lost, across a daylight-saving change.

The processes read the time from one file (KAI_SCHEDULE_CLOCK_FILE), which the test
moves on 30 seconds at a time, and waits until no schedule is left due before moving
again: an hour of timetable in well under a minute, with no sleeping through minutes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from croniter import croniter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.db import create_engine, create_sessionmaker
from kai.models.schedule import Schedule
from kai.models.task import Task
from tests.support.agents import create_echo, signed_in
from tests.support.databases import postgres_database
from tests.support.graphql_client import GraphQLClient
from tests.support.processes import processes
from tests.support.redis_server import RedisProcess
from tests.support.servers import clean_env
from tests.support.settings import TEST_SECRET

pytestmark = pytest.mark.slow

CREATE = """
mutation Create($input: ScheduleInput!) { createSchedule(input: $input) { id nextRunAt } }
"""
# Berlin's clocks go back at 01:00 UTC on 2026-10-25: the hour crosses it.
START = datetime(2026, 10, 25, 0, 20, 10, tzinfo=UTC)
STEP = timedelta(seconds=30)
STEPS = 150  # 75 minutes: 02:30 in Berlin comes twice (00:30 and 01:30 UTC)
TIMETABLES = [
    ("* * * * *", "UTC"),
    ("*/2 * * * *", "Europe/Berlin"),
    ("*/5 * * * *", "America/New_York"),
    ("7,23,41 * * * *", "Asia/Kolkata"),
    ("*/3 * * * *", "Australia/Lord_Howe"),
    ("30 2 * * *", "Europe/Berlin"),  # 02:30 happens twice in Berlin that night
    ("0 * * * *", "UTC"),
]


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with postgres_database() as url:  # empty: replica A migrates it on start
        yield url


def expected(cron: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    runs = croniter(cron, start.astimezone(ZoneInfo(zone)))
    found: list[datetime] = []
    while (due := runs.get_next(datetime).astimezone(UTC)) <= end:
        found.append(due)
    return found


async def test_each_due_time_starts_once_across_replicas_and_a_worker(
    database_url: str, redis: RedisProcess, tmp_path: Path
) -> None:
    clock_file = tmp_path / "now"
    clock_file.write_text(START.isoformat())

    def env(name: str) -> dict[str, str]:
        return clean_env(
            KAI_DATABASE_URL=database_url,
            KAI_REDIS_URL=redis.url,
            KAI_BROADCAST_URL=redis.url,
            KAI_JWT_SECRET=TEST_SECRET,
            KAI_DATA_DIR=str(tmp_path / name),
            KAI_QDRANT_URL=":memory:",
            KAI_SCHEDULE_CLOCK_FILE=str(clock_file),
            KAI_SCHEDULE_TICK_SECONDS="0.05",
            KAI_TASK_SWEEP_SECONDS="0.5",
        )

    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    with processes() as running:
        a = running.serve("replica A", env("a"))
        try:
            await a.ready()
            b = running.serve("replica B", env("b"))
            worker = running.worker("worker", env("w"))
            await asyncio.gather(b.ready(), worker.ready())
            async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
                client = GraphQLClient(http)
                token = await signed_in(client)
                agent = await create_echo(client, token)
                ids: dict[str, tuple[str, str]] = {}
                for number, (cron, zone) in enumerate(TIMETABLES):
                    made = await client.execute(
                        CREATE,
                        {
                            "input": {
                                "name": f"s{number}",
                                "agentId": agent["id"],
                                "cron": cron,
                                "timezone": zone,
                                "task": {"type": "echo", "payload": {"n": number}},
                            }
                        },
                        token=token,
                    )
                    ids[made.ok()["createSchedule"]["id"]] = (cron, zone)

            now = START
            for _ in range(STEPS):
                now += STEP
                clock_file.write_text(now.isoformat())
                await none_due(sessions, now)

            async with sessions() as session:
                rows = (
                    await session.execute(
                        select(col(Task.schedule_id), col(Task.scheduled_for)).where(
                            col(Task.schedule_id).is_not(None)
                        )
                    )
                ).all()
            started = Counter((str(schedule), due) for schedule, due in rows)
            assert all(count == 1 for count in started.values()), "a due time started twice"
            total = 0
            for schedule_id, (cron, zone) in ids.items():
                mine = sorted(d for s, d in started if s == schedule_id and d is not None)
                want = expected(cron, zone, START, now)
                assert mine == want, (cron, zone)
                total += len(want)
            assert total > 150  # the time really went by: 75 + 37 + 15 + 5 + 25 + 2 + 1
            # Each replica reports what it claimed: they shared the work, and the worker
            # took the rest (its metrics are not served here).
            claimed = {kai.name: await runs_started(kai.url) for kai in (a, b)}
            worker_runs = total - sum(claimed.values())
            assert all(claimed.values()) and worker_runs > 0, "the processes did not all tick"
        except BaseException:
            print(running.logs())
            raise
        finally:
            await engine.dispose()


async def none_due(sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    """Until every process's ticks have claimed what is due at `now`."""
    async with asyncio.timeout(20):
        while True:
            async with sessions() as session:
                due = await session.scalar(
                    select(func.count()).where(col(Schedule.next_run_at) <= now)
                )
            if not due:
                return
            await asyncio.sleep(0.02)


async def runs_started(url: str) -> int:
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{url}/metrics")).text
    for line in text.splitlines():
        if line.startswith('kai_schedule_runs_total{outcome="started"}'):
            return int(float(line.split()[-1]))
    return 0
