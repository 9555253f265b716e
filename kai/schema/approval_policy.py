"""An agent's approval policy as the API shows it, and as createAgent/updateAgent take it."""

from __future__ import annotations

import strawberry

from kai.services.approval_policy import (
    DEFAULT_TIMEOUT_SECONDS,
    MAX_TIMEOUT_SECONDS,
    checked_policy,
)
from kai.services.approval_policy import ApprovalPolicy as ApprovalPolicyValue


@strawberry.type(description="Which work of an agent waits for a person before it runs.")
class ApprovalPolicy:
    commands: list[str] = strawberry.field(
        description='Command names sendCommand holds for approval; ["*"] for all.'
    )
    task_types: list[str] = strawberry.field(
        description='Task types enqueueTask makes AWAITING_APPROVAL; ["*"] for all.'
    )
    timeout_seconds: float = strawberry.field(
        description="How long an approval stays open; then it expires and the work is refused."
    )

    @classmethod
    def from_value(cls, policy: ApprovalPolicyValue) -> ApprovalPolicy:
        return cls(
            commands=list(policy.commands),
            task_types=list(policy.task_types),
            timeout_seconds=policy.timeout_seconds,
        )


@strawberry.input(
    description="Which work of an agent waits for a person. Part of AgentConfigInput / "
    "AgentConfigPatch as approvalPolicy."
)
class ApprovalPolicyInput:
    commands: list[str] | None = strawberry.field(
        default_factory=list,
        description='Command names that need approval (at most 100); ["*"] for all.',
    )
    task_types: list[str] | None = strawberry.field(
        default_factory=list,
        description='Task types that need approval (at most 100); ["*"] for all. Scheduled '
        "runs wait too.",
    )
    timeout_seconds: float | None = strawberry.field(
        default=DEFAULT_TIMEOUT_SECONDS,
        description="Unanswered approvals expire (and the work is refused) after this long: "
        f"1 to {MAX_TIMEOUT_SECONDS:g} seconds (a week).",
    )

    def value(self, *, field: str) -> ApprovalPolicyValue:
        """The policy, checked: BAD_USER_INPUT naming the field under `field`."""
        return checked_policy(
            commands=self.commands,
            task_types=self.task_types,
            timeout_seconds=self.timeout_seconds,
            field=field,
        )
