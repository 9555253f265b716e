"""`kai tasks list|show|enqueue|cancel|watch`."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from kai_sdk.cli import output, pages
from kai_sdk.cli.connect import CliClient, agent_id, client, schedule_id
from kai_sdk.cli.exits import CliError, not_found
from kai_sdk.cli.output import Column
from kai_sdk.cli.progress import Bar, on_terminal
from kai_sdk.client.sync import (
    OrderDirection,
    TaskFilter,
    TaskInput,
    TaskOrder,
    TaskOrderField,
    TaskState,
)
from kai_sdk.client.sync.fragments import TaskFields

SORTS = {"created": TaskOrderField.CREATED_AT, "priority": TaskOrderField.PRIORITY}
ENDED = {TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELLED}


def columns(args: argparse.Namespace) -> list[Column]:
    return [
        Column("ID", lambda t: t.id),
        Column("AGENT", lambda t: t.agent.name, shrink=True),
        Column("TYPE", lambda t: t.type_),
        Column("STATE", lambda t: t.state),
        Column("PROGRESS", lambda t: _percent(t.progress)),
        Column("PRIORITY", lambda t: t.priority, optional=True),
        Column("ATTEMPTS", lambda t: t.attempts, optional=True),
        Column("CREATED", lambda t: output.when(t.created_at, args)),
        Column("ERROR", lambda t: t.error, shrink=True, optional=True),
    ]


def _percent(progress: float | None) -> str:
    return "-" if progress is None else f"{progress:.0%}"


def list_tasks(args: argparse.Namespace) -> int:
    direction = OrderDirection.ASC if args.reverse else OrderDirection.DESC
    order = TaskOrder(field=SORTS[args.sort], direction=direction)
    with client(args) as kai:
        filter_ = TaskFilter(
            agent_id=agent_id(kai, args.agent) if args.agent else None,
            states=[TaskState(state) for state in args.state] if args.state else None,
            types=args.type,
            schedule_id=schedule_id(kai, args.schedule) if args.schedule else None,
        )
        tasks: list[TaskFields] = pages.nodes(
            args,
            lambda first, after: (
                kai.tasks(
                    filter_=filter_, order_by=order, first=first, after=after, with_total=True
                ).tasks
            ),
            lambda: kai.iter_tasks(filter_, order),
        )
    if args.json:
        output.emit_json(tasks)
    else:
        output.table(tasks, columns(args))
    return 0


def _task(kai: CliClient, task_id: str) -> TaskFields:
    found = kai.task(task_id).task
    if found is None:
        raise not_found(f"no task {task_id!r}")
    return found


def show_task(args: argparse.Namespace) -> int:
    with client(args) as kai:
        task = _task(kai, args.task)
    if args.json:
        output.emit_json(task)
        return 0
    output.details(
        [
            ("id", task.id),
            ("agent", f"{task.agent.name} ({task.agent.id})"),
            ("type", task.type_),
            ("state", task.state),
            ("progress", _percent(task.progress)),
            ("payload", task.payload),
            ("result", task.result),
            ("error", task.error),
            ("approval", _approval_words(task)),
            ("attempts", f"{task.attempts} of {task.retries + 1}"),
            ("priority", task.priority),
            ("timeout", f"{task.timeout_seconds:g} s" if task.timeout_seconds else None),
            ("runs at", output.when(task.run_at, args)),
            ("created", output.when(task.created_at, args)),
            ("started", output.when(task.started_at, args)),
            ("completed", output.when(task.completed_at, args)),
        ]
    )
    return 0


def _approval_words(task: TaskFields) -> str | None:
    """`apr_… PENDING` for a task its agent's approval policy held; None for others."""
    return f"{task.approval.id} {task.approval.state.value}" if task.approval else None


def queued_line(task: TaskFields) -> str:
    """`task tsk_… queued: PENDING`, and how to approve one that waits."""
    line = f"task {task.id} queued: {task.state.value}"
    if task.state is TaskState.AWAITING_APPROVAL and task.approval is not None:
        line += f" (kai approvals approve {task.approval.id})"
    return line


def enqueue_task(args: argparse.Namespace) -> int:
    given: dict[str, Any] = {"type": args.type, "payload": args.payload}
    for key, value in (
        ("priority", args.priority),
        ("delaySeconds", args.delay),
        ("retries", args.retries),
        ("timeoutSeconds", args.timeout),
    ):
        if value is not None:
            given[key] = value
    with client(args) as kai:
        task = kai.enqueue_task(
            agent_id(kai, args.agent),
            TaskInput.model_validate(given),
            idempotency_key=args.idempotency_key,
        ).enqueue_task
        if args.watch:
            return follow(kai, task.id, args)
    if args.json:
        output.emit_json(task)
    else:
        print(queued_line(task))
    return 0


def cancel_task(args: argparse.Namespace) -> int:
    with client(args) as kai:
        task = kai.cancel_task(args.task).cancel_task
    if args.json:
        output.emit_json(task)
    else:
        print(f"task {task.id}: {task.state.value}")
    return 0


def watch_task(args: argparse.Namespace) -> int:
    with client(args) as kai:
        return follow(kai, args.task, args)


def follow(kai: CliClient, task_id: str, args: argparse.Namespace) -> int:
    """Follows the task to its end: JSON lines, a bar on a terminal, or a line per
    change; 0 when it COMPLETED, 1 when it FAILED or was CANCELLED."""
    bar = Bar(f"task {task_id[:12]}", sys.stdout) if on_terminal(sys.stdout) else None
    last: TaskFields | None = None
    try:
        with closing(kai.watch_task(task_id)) as updates:
            for task in updates:
                last = task
                if args.json:
                    output.emit_line(task)
                elif bar is not None:
                    bar.update(task.progress, task.state.value, force=task.state in ENDED)
                else:
                    _line(task)
    finally:
        if bar is not None:
            bar.close()
    if last is None:
        raise not_found(f"no task {task_id!r}")
    return _ended(last, args)


def _line(task: TaskFields) -> None:
    moment = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    sys.stdout.write(f"{moment}  {task.id}  {task.state.value:<9}  {_percent(task.progress)}\n")
    sys.stdout.flush()


def _ended(task: TaskFields, args: argparse.Namespace) -> int:
    if task.state is TaskState.COMPLETED:
        if not args.json and task.result is not None:
            output.details([("result", task.result)])
        return 0
    reason = f": {task.error}" if task.error else ""
    raise CliError(f"task {task.id} {task.state.value}{reason}", exit_code=1)
