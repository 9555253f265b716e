"""`kai schedules list|show|create|update|pause|resume|run|delete`."""

from __future__ import annotations

import argparse
from typing import Any

from kai_sdk.cli import output, pages, tasks
from kai_sdk.cli.connect import CliClient, agent_id, client, schedule_id
from kai_sdk.cli.exits import not_found, usage
from kai_sdk.cli.output import Column
from kai_sdk.client.sync import ScheduleInput, SchedulePatch, TaskInput
from kai_sdk.client.sync.fragments import ScheduleFields, ScheduleFieldsTask

# The options of a schedule's task, by the TaskInput field each one sets.
TEMPLATE = (
    ("payload", "payload"),
    ("priority", "priority"),
    ("retries", "retries"),
    ("timeout", "timeoutSeconds"),
)


def columns(args: argparse.Namespace) -> list[Column]:
    return [
        Column("ID", lambda s: s.id),
        Column("NAME", lambda s: s.name, shrink=True),
        Column("AGENT", lambda s: s.agent.name, shrink=True, optional=True),
        Column("WHEN", lambda s: timetable(s, args), shrink=True),
        Column("TASK", lambda s: s.task.type_, shrink=True),
        Column("STATE", state),
        Column("NEXT RUN", lambda s: output.when(s.next_run_at, args)),
        Column("LAST RUN", lambda s: output.when(s.last_run_at, args), optional=True),
        Column("CREATED", lambda s: output.when(s.created_at, args), optional=True),
    ]


def timetable(schedule: ScheduleFields, args: argparse.Namespace) -> str:
    """`0 9 * * 1-5 Europe/Berlin`, or `once, in 2h` for a one-off schedule."""
    if schedule.cron is not None:
        return f"{schedule.cron} {schedule.timezone}"
    return f"once, {output.when(schedule.run_at, args)}"


def state(schedule: ScheduleFields) -> str:
    """active, paused, or done (a one-off that has run)."""
    if not schedule.active:
        return "paused"
    return "done" if schedule.next_run_at is None else "active"


def list_schedules(args: argparse.Namespace) -> int:
    with client(args) as kai:
        agent = agent_id(kai, args.agent) if args.agent else None
        schedules: list[ScheduleFields] = pages.nodes(
            args,
            lambda first, after: (
                kai.schedules(agent, first=first, after=after, with_total=True).schedules
            ),
            lambda: kai.iter_schedules(agent),
        )
    if args.json:
        output.emit_json(schedules)
    else:
        output.table(schedules, columns(args))
    return 0


def _schedule(kai: CliClient, ref: str) -> ScheduleFields:
    found = kai.schedule(schedule_id(kai, ref)).schedule
    if found is None:
        raise not_found(f"no schedule {ref!r}")
    return found


def show_schedule(args: argparse.Namespace) -> int:
    with client(args) as kai:
        ref = schedule_id(kai, args.schedule)
        schedule = kai.schedule(ref, with_tasks=True, recent_tasks=args.tasks).schedule
    if schedule is None:
        raise not_found(f"no schedule {args.schedule!r}")
    if args.json:
        output.emit_json(schedule)
        return 0
    output.details(_details(schedule, args))
    started = schedule.tasks
    if started is None or not started.edges:
        print("\nno tasks yet")
        return 0
    print(f"\ntasks ({len(started.edges)} of {started.total_count}, newest first):")
    output.table([edge.node for edge in started.edges], tasks.columns(args))
    return 0


def _details(schedule: ScheduleFields, args: argparse.Namespace) -> list[tuple[str, Any]]:
    task = schedule.task
    timing = (
        [("cron", schedule.cron), ("timezone", schedule.timezone)]
        if schedule.cron is not None
        else [("runs at", output.when(schedule.run_at, args))]
    )
    return [
        ("id", schedule.id),
        ("name", schedule.name),
        ("agent", f"{schedule.agent.name} ({schedule.agent.id})"),
        *timing,
        ("state", state(schedule)),
        ("next run", output.when(schedule.next_run_at, args)),
        ("last run", output.when(schedule.last_run_at, args)),
        ("task", task.type_),
        ("payload", task.payload),
        ("priority", task.priority),
        ("retries", task.retries),
        ("timeout", f"{task.timeout_seconds:g} s" if task.timeout_seconds else None),
        ("created", output.when(schedule.created_at, args)),
    ]


def _timing(args: argparse.Namespace) -> dict[str, Any]:
    """The timetable the options give: cron, runAt and timezone, those given."""
    given = {"cron": args.cron, "runAt": args.at, "timezone": args.timezone}
    return {key: value for key, value in given.items() if value is not None}


def _template(args: argparse.Namespace, task: ScheduleFieldsTask | None = None) -> TaskInput:
    """The task each run queues: `task` (the schedule's now, if any) with what the
    options change."""
    given: dict[str, Any] = {"type": args.task_type or (task.type_ if task else None)}
    if task is not None:
        kept = {"payload": task.payload, "priority": task.priority, "retries": task.retries}
        given |= kept | {"timeoutSeconds": task.timeout_seconds}
    for option, key in TEMPLATE:
        value = getattr(args, option)
        if value is not None:
            given[key] = value
    return TaskInput.model_validate({k: v for k, v in given.items() if v is not None})


def _print_schedule(schedule: ScheduleFields, args: argparse.Namespace, done: str) -> None:
    if args.json:
        output.emit_json(schedule)
        return
    if schedule.next_run_at is not None:
        status = f": next run {output.when(schedule.next_run_at, args)}"
    else:
        status = "" if state(schedule) == done else f": {state(schedule)}"
    print(f"schedule {schedule.name} ({schedule.id}) {done}{status}")


def create_schedule(args: argparse.Namespace) -> int:
    with client(args) as kai:
        given = {
            "name": args.name,
            "agentId": agent_id(kai, args.agent),
            "task": _template(args),
            "active": not args.paused,
            **_timing(args),
        }
        schedule = kai.create_schedule(ScheduleInput.model_validate(given)).create_schedule
    _print_schedule(schedule, args, "created")
    return 0


def update_schedule(args: argparse.Namespace) -> int:
    patch: dict[str, Any] = _timing(args)
    if args.name is not None:
        patch["name"] = args.name
    if args.paused or args.active:
        patch["active"] = bool(args.active)
    changes_task = args.task_type is not None or any(
        getattr(args, option) is not None for option, _ in TEMPLATE
    )
    if not patch and not changes_task:
        raise usage("nothing to change: give --name, --cron, --at, --timezone or a task option")
    with client(args) as kai:
        ref = schedule_id(kai, args.schedule)
        if changes_task:
            patch["task"] = _template(args, _schedule(kai, ref).task)
        schedule = kai.update_schedule(ref, SchedulePatch.model_validate(patch)).update_schedule
    _print_schedule(schedule, args, "updated")
    return 0


def _set_active(args: argparse.Namespace, active: bool) -> ScheduleFields:
    with client(args) as kai:
        ref = schedule_id(kai, args.schedule)
        return kai.update_schedule(ref, SchedulePatch(active=active)).update_schedule


def pause_schedule(args: argparse.Namespace) -> int:
    _print_schedule(_set_active(args, False), args, "paused")
    return 0


def resume_schedule(args: argparse.Namespace) -> int:
    _print_schedule(_set_active(args, True), args, "resumed")
    return 0


def run_schedule(args: argparse.Namespace) -> int:
    with client(args) as kai:
        task = kai.run_schedule_now(schedule_id(kai, args.schedule)).run_schedule_now
        if args.watch:
            return tasks.follow(kai, task.id, args)
    if args.json:
        output.emit_json(task)
    else:
        print(tasks.queued_line(task))
    return 0


def delete_schedule(args: argparse.Namespace) -> int:
    with client(args) as kai:
        deleted = kai.delete_schedule(schedule_id(kai, args.schedule)).delete_schedule
    if args.json:
        output.emit_json({"deleted": deleted})
    else:
        print(f"schedule {deleted} deleted")
    return 0
