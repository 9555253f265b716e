"""The commands' arguments: schedules."""

from __future__ import annotations

import argparse

from kai_sdk.cli.define import Commands, json_value, moment, paging, positive
from kai_sdk.cli.parse_work import AGENT, SCHEDULE

# The commands that take a schedule and nothing else: (name, summary, description).
ON_ONE = (
    ("pause", "pause a schedule", "Nothing runs while paused; missed runs are not made up."),
    ("resume", "resume a schedule", "It runs again, from its next due time after now."),
    (
        "run",
        "run a schedule's task now",
        "Queue the schedule's task now, outside its timetable (which stays as it is).",
    ),
    ("delete", "delete a schedule", "Delete a schedule; the tasks it started keep going."),
)


def add_schedules(commands: Commands) -> None:
    schedules = commands.group(
        "schedules",
        "tasks that start themselves: a cron timetable or one time",
        "Schedules: each due time of a cron timetable (read in a time zone), or one time, "
        "queues a task from the schedule's template.",
    )
    listed = schedules.leaf(
        "list",
        "list schedules",
        "The schedules of your agents (every one for an ADMIN), newest first.",
        ("schedules", "list_schedules"),
    )
    listed.add_argument("--agent", help=AGENT)
    paging(listed)

    show = schedules.leaf(
        "show",
        "a schedule and its recent tasks",
        "One schedule, its task template and the tasks it started, newest first.",
        ("schedules", "show_schedule"),
    )
    show.add_argument("schedule", metavar="SCHEDULE", help=SCHEDULE)
    show.add_argument("--tasks", type=positive, default=10, help="how many tasks, 1 to 500")

    _create(schedules)
    _update(schedules)
    for name, summary, description in ON_ONE:
        leaf = schedules.leaf(name, summary, description, ("schedules", f"{name}_schedule"))
        leaf.add_argument("schedule", metavar="SCHEDULE", help=SCHEDULE)
        if name == "run":
            leaf.add_argument("--watch", action="store_true", help="then follow it (tasks watch)")


def _create(schedules: Commands) -> None:
    create = schedules.leaf(
        "create",
        "a new schedule",
        "A new schedule: --cron (five fields, read in --timezone) or --at (one time), and "
        "the task each run queues.",
        ("schedules", "create_schedule"),
    )
    create.add_argument("--agent", required=True, help=AGENT)
    create.add_argument("--name", required=True, help="up to 100 characters")
    _timetable(create, required=True)
    create.add_argument("--task-type", required=True, help="one of the agent type's task types")
    _template(create)
    create.add_argument("--paused", action="store_true", help="made paused: nothing runs")


def _update(schedules: Commands) -> None:
    update = schedules.leaf(
        "update",
        "change a schedule",
        "Change what is given; the next run is found again from now. A task option "
        "changes that part of the template and keeps the rest.",
        ("schedules", "update_schedule"),
    )
    update.add_argument("schedule", metavar="SCHEDULE", help=SCHEDULE)
    update.add_argument("--name", help="up to 100 characters")
    _timetable(update, required=False)
    update.add_argument("--task-type", help="one of the agent type's task types")
    _template(update)
    active = update.add_mutually_exclusive_group()
    active.add_argument("--paused", action="store_true", help="pause it (as `schedules pause`)")
    active.add_argument("--active", action="store_true", help="resume it (as `schedules resume`)")


def _timetable(parser: argparse.ArgumentParser, *, required: bool) -> None:
    when = parser.add_mutually_exclusive_group(required=required)
    when.add_argument(
        "--cron", metavar="EXPR", help="five fields: minute hour day month weekday, '0 9 * * 1-5'"
    )
    when.add_argument(
        "--at", type=moment, metavar="TIME", help="once, at this ISO 8601 time (no offset: local)"
    )
    parser.add_argument("--timezone", metavar="ZONE", help="IANA zone the cron is read in (UTC)")


def _template(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--payload", type=json_value, help="given to the handler, JSON")
    parser.add_argument("--priority", type=int, help="-1000..1000; higher runs first")
    parser.add_argument("--retries", type=int, help="further attempts after a failed one")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="per attempt")
