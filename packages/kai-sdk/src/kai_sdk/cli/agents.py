"""`kai agents list|show|create|update|restart|stop|delete`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kai_sdk.cli import output, pages
from kai_sdk.cli.connect import agent_id, client, user_id
from kai_sdk.cli.exits import not_found, usage
from kai_sdk.cli.output import Column
from kai_sdk.client.sync import (
    AgentConfigInput,
    AgentConfigPatch,
    AgentFilter,
    AgentOrder,
    AgentOrderField,
    AgentState,
    ApprovalPolicyInput,
    OrderDirection,
    ResourcesInput,
)
from kai_sdk.client.sync.fragments import AgentFields, AgentFieldsApprovalPolicy

SORTS = {
    "created": (AgentOrderField.CREATED_AT, OrderDirection.DESC),
    "name": (AgentOrderField.NAME, OrderDirection.ASC),
}


def columns(args: argparse.Namespace) -> list[Column]:
    return [
        Column("ID", lambda a: a.id),
        Column("NAME", lambda a: a.name, shrink=True),
        Column("TYPE", lambda a: a.type_),
        Column("STATE", lambda a: a.state),
        Column("CAPABILITIES", lambda a: a.capabilities, shrink=True, optional=True),
        Column("OWNER", lambda a: a.owner.email, shrink=True, optional=True),
        Column("LAST SEEN", lambda a: output.when(a.last_seen, args), optional=True),
        Column("CREATED", lambda a: output.when(a.created_at, args)),
    ]


def _order(sort: str, reverse: bool) -> AgentOrder:
    field, direction = SORTS[sort]
    if reverse:
        direction = OrderDirection.ASC if direction is OrderDirection.DESC else OrderDirection.DESC
    return AgentOrder(field=field, direction=direction)


def list_agents(args: argparse.Namespace) -> int:
    with client(args) as kai:
        filter_ = AgentFilter(
            states=[AgentState(state) for state in args.state] if args.state else None,
            types=args.type,
            name_contains=args.name,
            capability=args.capability,
            owner_id=user_id(kai, args.owner) if args.owner else None,
        )
        order = _order(args.sort, args.reverse)
        agents: list[AgentFields] = pages.nodes(
            args,
            lambda first, after: (
                kai.agents(
                    filter_=filter_, order_by=order, first=first, after=after, with_total=True
                ).agents
            ),
            lambda: kai.iter_agents(filter_, order),
        )
    if args.json:
        output.emit_json(agents)
    else:
        output.table(agents, columns(args))
    return 0


def show_agent(args: argparse.Namespace) -> int:
    with client(args) as kai:
        agent = kai.agent(agent_id(kai, args.agent)).agent
    if agent is None:
        raise not_found(f"no agent {args.agent!r}")
    if args.json:
        output.emit_json(agent)
        return 0
    status = agent.status
    health = status.health
    metrics = status.metrics
    output.details(
        [
            ("id", agent.id),
            ("name", agent.name),
            ("type", agent.type_),
            ("state", agent.state),
            ("owner", agent.owner.email),
            ("capabilities", agent.capabilities),
            ("configuration", agent.configuration),
            ("resources", agent.resources.model_dump(mode="json", exclude_none=True)),
            ("approval", policy_words(agent.approval_policy)),
            ("health", health.status if health else None),
            ("commands", f"{metrics.commands_total} ({metrics.commands_failed} failed)"),
            ("tasks", _task_counts(metrics)),
            ("last seen", output.when(agent.last_seen, args)),
            ("created", output.when(agent.created_at, args)),
            ("updated", output.when(agent.updated_at, args)),
        ]
    )
    return 0


def _task_counts(metrics: Any) -> str:
    return (
        f"{metrics.tasks_pending} pending, {metrics.tasks_running} running, "
        f"{metrics.tasks_completed} completed, {metrics.tasks_failed} failed"
    )


def policy_words(policy: AgentFieldsApprovalPolicy) -> str:
    """`commands deploy,rollback; task types *; open 600 s`, or `nothing waits`."""
    if not policy.commands and not policy.task_types:
        return "nothing waits"
    commands = ",".join(policy.commands) or "-"
    task_types = ",".join(policy.task_types) or "-"
    return f"commands {commands}; task types {task_types}; open {policy.timeout_seconds:g} s"


def _policy(
    args: argparse.Namespace, current: AgentFieldsApprovalPolicy | None = None
) -> ApprovalPolicyInput | None:
    """The approval policy the options give, the parts left out as `current` has them;
    None when no option is given."""
    given = {
        "commands": args.approval_commands,
        "taskTypes": args.approval_task_types,
        "timeoutSeconds": args.approval_timeout,
    }
    if all(value is None for value in given.values()):
        return None
    if current is not None:
        kept = current.model_dump(by_alias=True)
        given = {key: kept[key] if value is None else value for key, value in given.items()}
    return ApprovalPolicyInput.model_validate({k: v for k, v in given.items() if v is not None})


def _resources(args: argparse.Namespace) -> ResourcesInput | None:
    given = {
        "memory": args.memory,
        "cpu": args.cpu,
        "storage": args.storage,
        "gpu": args.gpu,
    }
    given = {key: value for key, value in given.items() if value is not None}
    return ResourcesInput(**given) if given else None


def _print_agent(agent: AgentFields, args: argparse.Namespace, done: str) -> None:
    if args.json:
        output.emit_json(agent)
    else:
        print(f"agent {agent.name} ({agent.id}) {done}: {agent.state.value}")


def create_agent(args: argparse.Namespace) -> int:
    config: dict[str, Any] = {"name": args.name, "type": args.type}
    if args.capability is not None:
        config["capabilities"] = args.capability
    if args.config is not None:
        config["configuration"] = args.config
    resources = _resources(args)
    if resources is not None:
        config["resources"] = resources
    policy = _policy(args)
    if policy is not None:
        config["approvalPolicy"] = policy
    with client(args) as kai:
        agent = kai.create_agent(AgentConfigInput.model_validate(config)).create_agent
    _print_agent(agent, args, "created")
    return 0


def update_agent(args: argparse.Namespace) -> int:
    patch: dict[str, Any] = {}
    for key, value in (
        ("name", args.name),
        ("capabilities", args.capability),
        ("configuration", args.config),
        ("resources", _resources(args)),
    ):
        if value is not None:
            patch[key] = value
    changes_policy = _policy(args) is not None
    if not patch and not changes_policy:
        raise usage(
            "nothing to change: give --name, --capability, --config, a resource or an "
            "--approval- option"
        )
    with client(args) as kai:
        ref = agent_id(kai, args.agent)
        if changes_policy:
            # A new policy replaces the whole of the old one: keep the parts not given.
            found = kai.agent(ref).agent
            if found is None:
                raise not_found(f"no agent {args.agent!r}")
            patch["approval_policy"] = _policy(args, found.approval_policy)
        agent = kai.update_agent(ref, AgentConfigPatch(**patch)).update_agent
    _print_agent(agent, args, "updated")
    return 0


def restart_agent(args: argparse.Namespace) -> int:
    with client(args) as kai:
        agent = kai.restart_agent(agent_id(kai, args.agent)).restart_agent
    _print_agent(agent, args, "restarted")
    return 0


def stop_agent(args: argparse.Namespace) -> int:
    with client(args) as kai:
        agent = kai.stop_agent(agent_id(kai, args.agent)).stop_agent
    _print_agent(agent, args, "stopped")
    return 0


def delete_agent(args: argparse.Namespace) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            raise usage("deleting an agent needs --yes when there is no terminal to ask")
        sys.stderr.write(f"delete agent {args.agent}, its logs, events and files? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in {"y", "yes"}:
            print("kai: nothing deleted", file=sys.stderr)
            return 1
    with client(args) as kai:
        deleted = kai.delete_agent(agent_id(kai, args.agent)).delete_agent
    if args.json:
        output.emit_json({"deleted": deleted})
    else:
        print(f"agent {deleted} deleted")
    return 0
