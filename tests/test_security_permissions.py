"""K3: permission patterns match exactly per segment and deny by default (property-tested),
and the default matrix of docs/architecture.md."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kai.models.user import Role
from kai.security.permissions import (
    CATALOGUE,
    Grant,
    PermissionMatrix,
    pattern_covers,
    pattern_matches,
)

# A small alphabet, so generated permissions and patterns often share segments
# (and near-misses like `agentx` or `agents` come up), plus the real areas.
SEGMENT = st.one_of(
    st.sampled_from(["agent", "agentx", "agents", "xagent", "task", "read", "delete", "a", "x"]),
    st.text(alphabet="abx", min_size=1, max_size=3),
)
SEGMENTS = st.lists(SEGMENT, min_size=1, max_size=3)
PERMISSION = SEGMENTS.map(".".join)
# A pattern is a permission, `<segments>.*`, or `*`.
PATTERN = st.one_of(
    PERMISSION,
    SEGMENTS.map(lambda segments: ".".join(segments) + ".*"),
    st.just("*"),
)
PATTERNS = st.lists(PATTERN, max_size=4)


def matched_by(pattern: str) -> st.SearchStrategy[str]:
    """Permissions that `pattern` matches, built from segments rather than by filtering."""
    if pattern == "*":
        return PERMISSION
    if pattern.endswith(".*"):
        return SEGMENTS.map(lambda tail: pattern[:-1] + ".".join(tail))
    return st.just(pattern)


# --- pattern_matches ------------------------------------------------------------------


@given(area=SEGMENT, action=SEGMENT)
def test_k3_area_wildcard_matches_every_action_of_its_area(area: str, action: str) -> None:
    assert pattern_matches(f"{area}.*", f"{area}.{action}")


@given(area=SEGMENT, other=SEGMENT, action=SEGMENT)
def test_k3_area_wildcard_never_matches_another_area(area: str, other: str, action: str) -> None:
    assume(area != other)

    assert not pattern_matches(f"{area}.*", f"{other}.{action}")


@given(prefix=SEGMENTS, permission=SEGMENTS)
def test_k3_wildcard_matches_exactly_the_permissions_below_its_segments(
    prefix: list[str], permission: list[str]
) -> None:
    below = len(permission) > len(prefix) and permission[: len(prefix)] == prefix

    assert pattern_matches(".".join(prefix) + ".*", ".".join(permission)) is below


@given(pattern=PERMISSION, permission=PERMISSION)
def test_k3_pattern_without_wildcard_matches_only_itself(pattern: str, permission: str) -> None:
    assert pattern_matches(pattern, permission) is (pattern == permission)


@pytest.mark.parametrize("near_miss", ["agentx.read", "agent", "agents.read", "xagent.read"])
def test_k3_agent_wildcard_rejects_near_misses(near_miss: str) -> None:
    assert pattern_matches("agent.*", "agent.read")
    assert not pattern_matches("agent.*", near_miss)


# --- Grant: deny by default, keys only narrow ------------------------------------------


@given(key_patterns=PATTERNS, permission=PERMISSION)
def test_k3_grant_without_role_patterns_allows_nothing(
    key_patterns: list[str], permission: str
) -> None:
    grant = Grant((), key_patterns)

    assert not grant.allows(permission)
    assert grant.effective() == []


@given(role_patterns=PATTERNS, permission=PERMISSION)
def test_k3_grant_allows_only_what_a_role_pattern_matches(
    role_patterns: list[str], permission: str
) -> None:
    expected = any(pattern_matches(p, permission) for p in role_patterns)

    assert Grant(role_patterns).allows(permission) is expected


@given(role_patterns=PATTERNS, key_patterns=PATTERNS, permission=PERMISSION)
def test_k3_key_grant_is_never_wider_than_its_role_grant(
    role_patterns: list[str], key_patterns: list[str], permission: str
) -> None:
    narrowed = Grant(role_patterns, key_patterns)

    if narrowed.allows(permission):
        assert Grant(role_patterns).allows(permission)
        if key_patterns:
            assert any(pattern_matches(p, permission) for p in key_patterns)


# --- pattern_covers / Grant.covers: what may be handed to a new key ---------------------


@given(wider=PATTERN, narrower=PATTERN, data=st.data())
def test_k3_pattern_covers_is_sound(wider: str, narrower: str, data: st.DataObject) -> None:
    assume(pattern_covers(wider, narrower))

    permission = data.draw(matched_by(narrower))

    assert pattern_matches(narrower, permission)
    assert pattern_matches(wider, permission)


@given(pattern=PATTERN)
def test_k3_pattern_covers_itself(pattern: str) -> None:
    assert pattern_covers(pattern, pattern)


@given(role_patterns=st.lists(PATTERN, min_size=1, max_size=4), data=st.data())
def test_k4_pattern_a_grant_covers_never_exceeds_the_grant(
    role_patterns: list[str], data: st.DataObject
) -> None:
    # Keys often narrowed to the role's own patterns, and requests often one the grant
    # holds: drawn blindly, nearly every input was filtered away (a failed health check).
    key_patterns = data.draw(
        st.one_of(st.none(), PATTERNS, st.lists(st.sampled_from(role_patterns), max_size=4))
    )
    held = key_patterns or role_patterns
    requested = data.draw(st.one_of(PATTERN, st.sampled_from(held)))
    grant = Grant(role_patterns, key_patterns)
    assume(grant.covers(requested))

    permission = data.draw(matched_by(requested))

    assert grant.allows(permission)


@pytest.mark.parametrize(
    ("wider", "narrower"),
    [("agent.read", "agent.*"), ("agent.*", "*"), ("agent.*", "agentx.*"), ("agentx.*", "agent.*")],
)
def test_k3_pattern_covers_refuses_wider_patterns(wider: str, narrower: str) -> None:
    assert not pattern_covers(wider, narrower)


# --- the default matrix ---------------------------------------------------------------


def grant_of(role: Role) -> Grant:
    return Grant(PermissionMatrix().patterns(role))


def test_default_matrix_user_lacks_delete_admin_and_config_permissions() -> None:
    user = grant_of(Role.USER)

    assert user.allows("agent.create") and user.allows("apikey.manage")
    for permission in ("agent.delete", "config.read", "user.read", "user.manage", "system.audit"):
        assert not user.allows(permission), permission


def test_default_matrix_developer_has_users_rights_plus_delete_and_config_read() -> None:
    user, developer = grant_of(Role.USER), grant_of(Role.DEVELOPER)

    assert set(developer.effective()) == {*user.effective(), "agent.delete", "config.read"}
    assert not developer.allows("user.read")


def test_default_matrix_admin_has_the_whole_catalogue() -> None:
    assert grant_of(Role.ADMIN).effective() == list(CATALOGUE)


def test_default_matrix_unknown_permission_is_denied_to_every_role() -> None:
    for role in Role:
        assert not grant_of(role).allows("agentx.read"), role
        assert not grant_of(role).allows("agent"), role
