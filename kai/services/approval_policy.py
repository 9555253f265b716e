"""An agent's approval policy: which of its commands and task types wait for a person, and
how long an approval may stay open before the work is refused."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kai.errors import BadUserInput
from kai.models.agent import Agent
from kai.services.validation import bounded_text

# Every command, or every task type.
ALL = "*"
MAX_NAMES = 100
DEFAULT_TIMEOUT_SECONDS = 3600.0
# An approval is open for a second at least (the expiry sweep's grain), a week at most:
# a forgotten one must not hold its work, and its place in the owner's cap, for ever.
MIN_TIMEOUT_SECONDS = 1.0
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    commands: tuple[str, ...] = ()
    task_types: tuple[str, ...] = ()
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def gates_command(self, name: str) -> bool:
        return ALL in self.commands or name in self.commands

    def gates_task(self, task_type: str) -> bool:
        return ALL in self.task_types or task_type in self.task_types

    def stored(self) -> dict[str, Any]:
        """As the agent's row keeps it (Agent.approval_policy)."""
        return {
            "commands": list(self.commands),
            "taskTypes": list(self.task_types),
            "timeoutSeconds": self.timeout_seconds,
        }


def policy_of(agent: Agent) -> ApprovalPolicy:
    """The agent's policy; none stored gates nothing."""
    stored = agent.approval_policy
    if not stored:
        return ApprovalPolicy()
    return ApprovalPolicy(
        commands=tuple(stored.get("commands") or ()),
        task_types=tuple(stored.get("taskTypes") or ()),
        timeout_seconds=float(stored.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS),
    )


def checked_policy(
    *,
    commands: Sequence[str] | None,
    task_types: Sequence[str] | None,
    timeout_seconds: float | None,
    field: str,
) -> ApprovalPolicy:
    """The policy as given, or BAD_USER_INPUT naming the field under `field`
    (`input.approvalPolicy`)."""
    return ApprovalPolicy(
        commands=_names(commands, field=f"{field}.commands", max_length=200),
        task_types=_names(task_types, field=f"{field}.taskTypes", max_length=64),
        timeout_seconds=checked_timeout(
            DEFAULT_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds,
            field=f"{field}.timeoutSeconds",
        ),
    )


def checked_timeout(value: float, *, field: str) -> float:
    if not math.isfinite(value) or not MIN_TIMEOUT_SECONDS <= value <= MAX_TIMEOUT_SECONDS:
        raise BadUserInput(
            f"timeoutSeconds must be {MIN_TIMEOUT_SECONDS:g} to {MAX_TIMEOUT_SECONDS:g} (a week).",
            field=field,
        )
    return float(value)


def _names(values: Sequence[str] | None, *, field: str, max_length: int) -> tuple[str, ...]:
    """Command names or task types, each as sendCommand and enqueueTask compare them, once."""
    values = list(values or ())
    if len(values) > MAX_NAMES:
        raise BadUserInput(f"At most {MAX_NAMES} names.", field=field)
    names: list[str] = []
    for value in values:
        name = bounded_text(value, field=field, max_length=max_length, required=True)
        assert name is not None
        if name not in names:
            names.append(name)
    return tuple(names)
