"""K5: one audit row per permission check, granted or denied, with no secret in it; and
the ADMIN-only `auditLog` (filters, cursor pagination, the `first` cap) and `node(id)`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlmodel import col

from kai.models.audit import AuditEntry
from tests.support.agents import create_echo
from tests.support.graphql_client import DEFAULT_PASSWORD, GraphQLClient

API_KEYS = "query { apiKeys { edges { node { id } } } }"
API_KEYS_TWICE = "query { a: apiKeys { totalCount } b: apiKeys { totalCount } }"
USERS = "query { users { edges { node { id } } } }"
SET_USER_ROLE = """
mutation SetRole($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id } }
"""
REVOKE_API_KEY = "mutation Revoke($id: ID!) { revokeApiKey(id: $id) { id } }"
REFRESH = """
mutation Refresh($token: String!) { refreshToken(refreshToken: $token) { accessToken } }
"""
CREATE_CHILD_KEY = 'mutation { createApiKey(input: {name: "child"}) { secret } }'
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
AUDIT_LOG = """
query Audit($userId: ID, $action: String, $granted: Boolean, $first: Int, $after: String) {
  auditLog(userId: $userId, action: $action, granted: $granted, first: $first, after: $after) {
    edges { cursor node { id user { id } action resource granted timestamp } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
AUDIT_NODE = """
query Node($id: ID!) {
  node(id: $id) { id ... on AuditEntry { user { id } action resource granted } }
}
"""


@dataclass(frozen=True)
class Row:
    user_id: str | None
    action: str
    resource: str | None
    granted: bool


async def admin_and_user(client: GraphQLClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first account registered is the ADMIN; the second a USER."""
    admin = await client.register("admin@example.com")
    user = await client.register("user@example.com")
    assert (admin["user"]["role"], user["user"]["role"]) == ("ADMIN", "USER")
    return admin, user


async def audit_rows(app: Any) -> list[AuditEntry]:
    async with app.state.services.sessionmaker() as db:
        return list((await db.scalars(select(AuditEntry).order_by(col(AuditEntry.id)))).all())


async def new_rows(app: Any, before: list[AuditEntry]) -> list[Row]:
    seen = {row.id for row in before}
    return [
        Row(row.user_id, row.action, row.resource, row.granted)
        for row in await audit_rows(app)
        if row.id not in seen
    ]


# --- K5: one row per check ------------------------------------------------------------


async def test_k5_granted_check_writes_exactly_one_row(client: GraphQLClient, app: Any) -> None:
    admin, _ = await admin_and_user(client)
    before = await audit_rows(app)

    (await client.execute(API_KEYS, token=admin["accessToken"])).ok()

    assert await new_rows(app, before) == [Row(admin["user"]["id"], "apikey.manage", None, True)]


async def test_k5_each_check_of_an_operation_writes_its_own_row(
    client: GraphQLClient, app: Any
) -> None:
    admin, _ = await admin_and_user(client)
    before = await audit_rows(app)

    (await client.execute(API_KEYS_TWICE, token=admin["accessToken"])).ok()

    assert (
        await new_rows(app, before) == [Row(admin["user"]["id"], "apikey.manage", None, True)] * 2
    )


async def test_k5_denied_check_writes_exactly_one_row(client: GraphQLClient, app: Any) -> None:
    _, user = await admin_and_user(client)
    before = await audit_rows(app)

    result = await client.execute(USERS, token=user["accessToken"])

    assert result.codes == ["FORBIDDEN"]
    assert await new_rows(app, before) == [Row(user["user"]["id"], "user.read", None, False)]


async def test_k5_denied_checks_of_failed_mutations_are_still_recorded(
    client: GraphQLClient, app: Any
) -> None:
    admin, user = await admin_and_user(client)
    admins_key = await client.create_api_key(admin["accessToken"])
    key_id, admin_id, user_id = admins_key["apiKey"]["id"], admin["user"]["id"], user["user"]["id"]
    before = await audit_rows(app)

    set_role = await client.execute(
        SET_USER_ROLE, {"userId": admin_id, "role": "USER"}, token=user["accessToken"]
    )
    revoke = await client.execute(REVOKE_API_KEY, {"id": key_id}, token=user["accessToken"])

    assert (set_role.codes, revoke.codes) == (["FORBIDDEN"], ["NOT_FOUND"])
    assert await new_rows(app, before) == [
        Row(user_id, "user.manage", f"user:{admin_id}", False),
        Row(user_id, "apikey.manage", f"apikey:{key_id}", False),
    ]


async def test_k5_refused_change_of_own_role_is_recorded_as_denied(
    client: GraphQLClient, app: Any
) -> None:
    admin, _ = await admin_and_user(client)
    admin_id = admin["user"]["id"]
    before = await audit_rows(app)

    result = await client.execute(
        SET_USER_ROLE, {"userId": admin_id, "role": "USER"}, token=admin["accessToken"]
    )

    assert result.codes == ["FORBIDDEN"]
    assert await new_rows(app, before) == [Row(admin_id, "user.manage", f"user:{admin_id}", False)]


async def test_k5_check_on_an_overlong_id_is_recorded_and_answered(
    client: GraphQLClient, app: Any
) -> None:
    _, user = await admin_and_user(client)
    long_id = "key_" + "a" * 300
    before = await audit_rows(app)

    result = await client.execute(REVOKE_API_KEY, {"id": long_id}, token=user["accessToken"])

    assert result.codes == ["NOT_FOUND"]
    [row] = await new_rows(app, before)
    assert (row.user_id, row.action, row.granted) == (user["user"]["id"], "apikey.manage", False)
    assert row.resource is not None and f"apikey:{long_id}".startswith(row.resource)


async def test_k5_request_whose_audit_write_fails_gets_a_masked_error(
    client: GraphQLClient, app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    admin, _ = await admin_and_user(client)
    async with app.state.services.sessionmaker() as db, db.begin():
        await db.execute(text("DROP TABLE audit_entry"))

    with caplog.at_level(logging.ERROR, logger="kai.security.audit"):
        result = await client.execute(API_KEYS, token=admin["accessToken"])

    # Work whose audit row is lost is not answered as a success, and the
    # database's own error (SQL, parameters) never reaches the client.
    assert result.data is None
    assert result.codes in (["INTERNAL_SERVER_ERROR"], ["SERVICE_UNAVAILABLE"])
    body = str(result.body).lower()
    assert "audit_entry" not in body and "insert" not in body
    assert "could not write 1 audit rows" in caplog.text


async def test_k5_no_secret_appears_in_any_audit_column(client: GraphQLClient, app: Any) -> None:
    admin, user = await admin_and_user(client)
    logged_in = await client.login("user@example.com")
    refreshed = (await client.execute(REFRESH, {"token": logged_in["refreshToken"]})).ok()[
        "refreshToken"
    ]
    key = await client.create_api_key(user["accessToken"], permissions=["apikey.manage"])
    child = (await client.execute(CREATE_CHILD_KEY, token=key["secret"])).ok()["createApiKey"]
    for token in (user["accessToken"], refreshed["accessToken"], key["secret"], child["secret"]):
        (await client.execute(API_KEYS, token=token)).ok()
        assert (await client.execute(USERS, token=token)).codes == ["FORBIDDEN"]
    (await client.execute(API_KEYS, token=admin["accessToken"])).ok()
    secrets_used = [
        DEFAULT_PASSWORD,
        admin["accessToken"],
        admin["refreshToken"],
        user["accessToken"],
        user["refreshToken"],
        logged_in["accessToken"],
        logged_in["refreshToken"],
        refreshed["accessToken"],
        key["secret"],
        child["secret"],
    ]

    async with app.state.services.sessionmaker() as db:
        rows = (await db.execute(text("SELECT * FROM audit_entry"))).all()

    assert len(rows) >= 10
    key_ids = {row.api_key_id for row in rows}
    assert key["apiKey"]["id"] in key_ids
    for row in rows:
        for value in row:
            stored = str(value)
            for secret in secrets_used:
                # A whole secret, or a long enough piece of one to matter.
                assert secret[-24:] not in stored, (row, secret[:8])


# --- auditLog -------------------------------------------------------------------------


async def test_audit_log_filters_by_user_action_and_granted(client: GraphQLClient) -> None:
    admin, user = await admin_and_user(client)
    admin_id, user_id = admin["user"]["id"], user["user"]["id"]
    (await client.execute(API_KEYS, token=admin["accessToken"])).ok()
    (await client.execute(API_KEYS, token=user["accessToken"])).ok()
    assert (await client.execute(USERS, token=user["accessToken"])).codes == ["FORBIDDEN"]

    async def entries(**filters: Any) -> list[tuple[str, str, bool]]:
        result = await client.execute(AUDIT_LOG, filters, token=admin["accessToken"])
        return [
            (edge["node"]["user"]["id"], edge["node"]["action"], edge["node"]["granted"])
            for edge in result.ok()["auditLog"]["edges"]
        ]

    by_user = await entries(userId=user_id)
    by_action = await entries(action="apikey.manage")
    denied = await entries(granted=False)
    user_granted = await entries(userId=user_id, granted=True)

    # Newest first.
    assert by_user == [(user_id, "user.read", False), (user_id, "apikey.manage", True)]
    assert by_action == [(user_id, "apikey.manage", True), (admin_id, "apikey.manage", True)]
    assert denied == [(user_id, "user.read", False)]
    assert user_granted == [(user_id, "apikey.manage", True)]


async def test_audit_log_pages_with_first_and_after(client: GraphQLClient, app: Any) -> None:
    admin, user = await admin_and_user(client)
    for _ in range(5):
        (await client.execute(API_KEYS, token=user["accessToken"])).ok()
    expected = [f"aud_{row.id}" for row in reversed(await audit_rows(app))]
    assert len(expected) == 5

    pages: list[dict[str, Any]] = []
    after: str | None = None
    while not pages or pages[-1]["pageInfo"]["hasNextPage"]:
        result = await client.execute(
            AUDIT_LOG, {"first": 2, "after": after}, token=admin["accessToken"]
        )
        pages.append(result.ok()["auditLog"])
        after = pages[-1]["pageInfo"]["endCursor"]
        assert len(pages) <= 3, "pagination does not end"

    assert [len(page["edges"]) for page in pages] == [2, 2, 1]
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True, True, False]
    for page in pages:
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    assert [edge["node"]["id"] for page in pages for edge in page["edges"]] == expected


@pytest.mark.parametrize("first", [501, 0, -1])
async def test_g5_audit_log_first_outside_1_to_500_is_bad_user_input(
    client: GraphQLClient, first: int
) -> None:
    admin, _ = await admin_and_user(client)

    result = await client.execute(AUDIT_LOG, {"first": first}, token=admin["accessToken"])

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == "first"


async def test_g5_audit_log_accepts_first_500(client: GraphQLClient) -> None:
    admin, _ = await admin_and_user(client)

    result = await client.execute(AUDIT_LOG, {"first": 500}, token=admin["accessToken"])

    assert result.ok()["auditLog"]["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("after", ["not a cursor!", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk"])
async def test_audit_log_rejects_a_forged_cursor_as_bad_user_input(
    client: GraphQLClient, after: str
) -> None:
    # The second cursor is base64 of a number far beyond any row id (and BIGINT).
    admin, _ = await admin_and_user(client)

    result = await client.execute(AUDIT_LOG, {"after": after}, token=admin["accessToken"])

    assert result.codes == ["BAD_USER_INPUT"]


async def test_k5_audit_log_is_forbidden_to_a_user_and_the_denial_is_audited(
    client: GraphQLClient,
) -> None:
    admin, user = await admin_and_user(client)
    user_id = user["user"]["id"]

    result = await client.execute(AUDIT_LOG, token=user["accessToken"])

    assert result.codes == ["FORBIDDEN"]
    recorded = await client.execute(
        AUDIT_LOG, {"userId": user_id, "action": "system.audit"}, token=admin["accessToken"]
    )
    [edge] = recorded.ok()["auditLog"]["edges"]
    assert edge["node"]["user"] == {"id": user_id}
    assert edge["node"]["granted"] is False


# --- node(id) -------------------------------------------------------------------------


async def test_node_returns_an_audit_entry_to_an_admin(client: GraphQLClient) -> None:
    admin, user = await admin_and_user(client)
    assert (await client.execute(USERS, token=user["accessToken"])).codes == ["FORBIDDEN"]
    listed = await client.execute(AUDIT_LOG, {"granted": False}, token=admin["accessToken"])
    [edge] = listed.ok()["auditLog"]["edges"]

    result = await client.execute(
        AUDIT_NODE, {"id": edge["node"]["id"]}, token=admin["accessToken"]
    )

    assert result.ok()["node"] == {
        "id": edge["node"]["id"],
        "user": {"id": user["user"]["id"]},
        "action": "user.read",
        "resource": None,
        "granted": False,
    }


async def test_node_of_an_audit_entry_is_forbidden_to_a_user(client: GraphQLClient) -> None:
    admin, user = await admin_and_user(client)
    (await client.execute(API_KEYS, token=admin["accessToken"])).ok()
    listed = await client.execute(AUDIT_LOG, token=admin["accessToken"])
    entry_id = listed.ok()["auditLog"]["edges"][0]["node"]["id"]

    result = await client.execute(AUDIT_NODE, {"id": entry_id}, token=user["accessToken"])

    assert result.codes == ["FORBIDDEN"]
    assert result.data == {"node": None}


@pytest.mark.parametrize("entry_id", ["aud_999999", "aud_99999999999999999999999999", "aud_x"])
async def test_node_of_an_unknown_audit_id_is_not_found(
    client: GraphQLClient, entry_id: str
) -> None:
    admin, _ = await admin_and_user(client)

    result = await client.execute(NODE, {"id": entry_id}, token=admin["accessToken"])

    assert result.codes == ["NOT_FOUND"]


AGENTS_WITH_ITEMS = (
    "{ agents { edges { node { id tasks { edges { node { id } } } files { id } } } } }"
)
TWO_AGENTS = """
query($a: ID!, $b: ID!) { a: agent(id: $a) { tasks { edges { node { id } } } }
                          b: agent(id: $b) { tasks { edges { node { id } } } } }
"""


async def test_k7_a_field_checked_on_each_item_of_a_list_is_one_row(
    client: GraphQLClient, app: Any
) -> None:
    """60 agents with two checked fields each wrote 121 rows: now one per check."""
    admin, _ = await admin_and_user(client)
    token, admin_id = admin["accessToken"], admin["user"]["id"]
    agents = [await create_echo(client, token, name=f"e{i}") for i in range(6)]
    before = await audit_rows(app)

    (await client.execute(AGENTS_WITH_ITEMS, token=token)).ok()

    first = f"agent:{agents[-1]['id']} (+5 more in this list)"  # newest first
    # In any order: the fields of an item run side by side.
    assert sorted(await new_rows(app, before), key=repr) == sorted(
        [
            Row(admin_id, "agent.read", None, True),
            Row(admin_id, "task.read", first, True),
            Row(admin_id, "file.download", first, True),
        ],
        key=repr,
    )
    # Outside a list, each check is its own row, as before.
    before = await audit_rows(app)
    variables = {"a": agents[0]["id"], "b": agents[1]["id"]}
    (await client.execute(TWO_AGENTS, variables, token=token)).ok()
    actions = [(row.action, row.resource) for row in await new_rows(app, before)]
    assert actions.count(("task.read", f"agent:{agents[0]['id']}")) == 1
    assert actions.count(("task.read", f"agent:{agents[1]['id']}")) == 1
