"""The admin surface over users: `users`, `setUserRole`, and `node(id)` of a user (G10)."""

from __future__ import annotations

from typing import Any

from tests.support.graphql_client import GraphQLClient, nodes

USERS = "query { users { totalCount edges { node { id email role } } } }"
SET_USER_ROLE = """
mutation SetRole($userId: ID!, $role: Role!) {
  setUserRole(userId: $userId, role: $role) { id role }
}
"""
SESSION_PERMISSIONS = "query { session { permissions } }"
USER_NODE = """
query Node($id: ID!) { node(id: $id) { id ... on User { email role } } }
"""
UNKNOWN_USER_ID = "usr_" + "0" * 32
AUDIT_OF_MANAGE = """
query { auditLog(action: "user.manage") { edges { node { resource granted } } } }
"""


async def admin_and_user(client: GraphQLClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first account registered is the ADMIN; the second a USER."""
    admin = await client.register("admin@example.com")
    user = await client.register("user@example.com")
    assert (admin["user"]["role"], user["user"]["role"]) == ("ADMIN", "USER")
    return admin, user


async def test_users_lists_every_account_to_an_admin(client: GraphQLClient) -> None:
    admin, user = await admin_and_user(client)
    other = await client.register("other@example.com")

    result = await client.execute(USERS, token=admin["accessToken"])

    listed = result.ok()["users"]
    assert nodes(listed) == [
        {"id": admin["user"]["id"], "email": "admin@example.com", "role": "ADMIN"},
        {"id": user["user"]["id"], "email": "user@example.com", "role": "USER"},
        {"id": other["user"]["id"], "email": "other@example.com", "role": "USER"},
    ]
    assert listed["totalCount"] == 3


async def test_users_is_forbidden_to_a_user(client: GraphQLClient) -> None:
    _, user = await admin_and_user(client)

    result = await client.execute(USERS, token=user["accessToken"])

    assert result.codes == ["FORBIDDEN"]
    assert result.data is None


async def test_s10_set_user_role_by_admin_applies_on_the_next_request(
    client: GraphQLClient,
) -> None:
    admin, user = await admin_and_user(client)

    result = await client.execute(
        SET_USER_ROLE,
        {"userId": user["user"]["id"], "role": "DEVELOPER"},
        token=admin["accessToken"],
    )

    assert result.ok()["setUserRole"] == {"id": user["user"]["id"], "role": "DEVELOPER"}
    session = await client.execute(SESSION_PERMISSIONS, token=user["accessToken"])
    assert "agent.delete" in session.ok()["session"]["permissions"]


async def test_set_user_role_of_an_unknown_user_is_not_found(client: GraphQLClient) -> None:
    admin, _ = await admin_and_user(client)

    result = await client.execute(
        SET_USER_ROLE, {"userId": UNKNOWN_USER_ID, "role": "ADMIN"}, token=admin["accessToken"]
    )

    assert result.codes == ["NOT_FOUND"]
    audit = (await client.execute(AUDIT_OF_MANAGE, token=admin["accessToken"])).ok()
    assert [edge["node"] for edge in audit["auditLog"]["edges"]] == [
        {"resource": f"user:{UNKNOWN_USER_ID}", "granted": False}
    ]


async def test_node_of_own_user_returns_it(client: GraphQLClient) -> None:
    _, user = await admin_and_user(client)

    result = await client.execute(USER_NODE, {"id": user["user"]["id"]}, token=user["accessToken"])

    assert result.ok()["node"] == {
        "id": user["user"]["id"],
        "email": "user@example.com",
        "role": "USER",
    }


async def test_g10_node_of_another_user_is_not_found_for_a_user(client: GraphQLClient) -> None:
    admin, user = await admin_and_user(client)

    other = await client.execute(USER_NODE, {"id": admin["user"]["id"]}, token=user["accessToken"])
    missing = await client.execute(USER_NODE, {"id": UNKNOWN_USER_ID}, token=user["accessToken"])

    assert other.codes == ["NOT_FOUND"]
    assert other.data == {"node": None}
    # Someone else's account and no account at all look the same.
    assert other.errors == missing.errors


async def test_node_of_another_user_works_for_an_admin(client: GraphQLClient) -> None:
    admin, user = await admin_and_user(client)

    result = await client.execute(USER_NODE, {"id": user["user"]["id"]}, token=admin["accessToken"])

    assert result.ok()["node"] == {
        "id": user["user"]["id"],
        "email": "user@example.com",
        "role": "USER",
    }
