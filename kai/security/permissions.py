"""Permissions as data: the default matrix of docs/architecture.md, wildcards, API-key narrowing.

A permission is `area.action`. A pattern is a permission, `area.*` (every action of
the area) or `*` (everything). Matching is exact per segment, so `agent.*` never
matches `agentx.read` or `agent` (K3); whatever no pattern grants is denied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kai.models.user import Role

# Every permission the API checks. Wildcard grants are expanded against this
# list when a session reports its effective permissions.
CATALOGUE: tuple[str, ...] = (
    "agent.create",
    "agent.read",
    "agent.update",
    "agent.delete",
    "agent.restart",
    "agent.command",
    "task.create",
    "task.read",
    "task.cancel",
    "file.upload",
    "file.download",
    "file.delete",
    "apikey.manage",
    "schedule.read",
    "schedule.manage",
    "webhook.manage",
    "thread.use",
    "approval.decide",
    "config.read",
    "config.write",
    "user.read",
    "user.manage",
    "system.audit",
)

_USER = (
    "agent.create",
    "agent.read",
    "agent.update",
    "agent.restart",
    "agent.command",
    "task.create",
    "task.read",
    "task.cancel",
    "file.upload",
    "file.download",
    "file.delete",
    "apikey.manage",
    "schedule.read",
    "schedule.manage",
    "webhook.manage",
    "thread.use",
    "approval.decide",
)

DEFAULT_MATRIX: dict[str, tuple[str, ...]] = {
    Role.USER: _USER,
    Role.DEVELOPER: (*_USER, "agent.delete", "config.read"),
    Role.ADMIN: (
        "agent.*",
        "task.*",
        "file.*",
        "config.*",
        "user.*",
        "system.*",
        "apikey.*",
        "schedule.*",
        "webhook.*",
        "thread.*",
        "approval.*",
    ),
}


def pattern_matches(pattern: str, permission: str) -> bool:
    if pattern == "*":
        return True
    want = pattern.split(".")
    have = permission.split(".")
    if want[-1] == "*":
        prefix = want[:-1]
        return len(have) > len(prefix) and have[: len(prefix)] == prefix
    return want == have


def pattern_covers(wider: str, narrower: str) -> bool:
    """Does every permission `narrower` can match also match `wider`?"""
    if wider == "*":
        return True
    if narrower == "*":
        return False
    if narrower.endswith(".*"):
        base = narrower[:-2]
        return wider.endswith(".*") and pattern_matches(wider, base + ".x")
    return pattern_matches(wider, narrower)


def is_valid_pattern(pattern: str) -> bool:
    """A pattern the API could ever grant: a catalogue entry or a wildcard over some."""
    if pattern in CATALOGUE or pattern == "*":
        return True
    return pattern.endswith(".*") and any(pattern_matches(pattern, p) for p in CATALOGUE)


class PermissionMatrix:
    def __init__(self, matrix: Mapping[str, Iterable[str]] | None = None):
        source = matrix if matrix is not None else DEFAULT_MATRIX
        self._patterns = {Role(role): tuple(patterns) for role, patterns in source.items()}

    def patterns(self, role: Role) -> tuple[str, ...]:
        return self._patterns.get(role, ())


class Grant:
    """What one principal may do: its role's patterns, narrowed by an API key's.

    A session has no key patterns (None): its role's, all of them. An API key's are
    stored with it: `*` for "all of the owner's", none (empty) for nothing at all (K7:
    an empty list once meant all of them, so `permissions: []` failed open).
    """

    __slots__ = ("_key_patterns", "_role_patterns")

    def __init__(self, role_patterns: Iterable[str], key_patterns: Iterable[str] | None = None):
        self._role_patterns = tuple(role_patterns)
        self._key_patterns = None if key_patterns is None else tuple(key_patterns)

    @property
    def key_patterns(self) -> tuple[str, ...] | None:
        return self._key_patterns

    def allows(self, permission: str) -> bool:
        if not any(pattern_matches(p, permission) for p in self._role_patterns):
            return False
        if self._key_patterns is not None:
            return any(pattern_matches(p, permission) for p in self._key_patterns)
        return True

    def covers(self, pattern: str) -> bool:
        """May this principal hand out `pattern` (to an API key) without widening itself?"""
        if not any(pattern_covers(p, pattern) for p in self._role_patterns):
            return False
        if self._key_patterns is not None:
            return any(pattern_covers(p, pattern) for p in self._key_patterns)
        return True

    def effective(self) -> list[str]:
        return [permission for permission in CATALOGUE if self.allows(permission)]
