"""API keys end to end: K1 (format, storage, shown once), K2 (failures alike), K4 (no
escalation), Bearer use, revocation, and other users' keys being invisible (G10)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlmodel import col

from kai.models.api_key import ApiKey
from kai.models.base import utcnow
from tests.support.graphql_client import GraphQLClient, nodes

ME = "query { me { id email role } }"
SESSION_PERMISSIONS = "query { session { permissions } }"
API_KEYS = """
query {
  apiKeys {
    edges { node { id name prefix permissions agentIds createdAt expiresAt lastUsedAt active } }
  }
}
"""
API_KEY_NODE = """
query Node($id: ID!) {
  node(id: $id) { id ... on ApiKey { name prefix permissions active } }
}
"""
CREATE_API_KEY = """
mutation Create($input: ApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id prefix permissions } }
}
"""
REVOKE_API_KEY = """
mutation Revoke($id: ID!) { revokeApiKey(id: $id) { id active } }
"""
SET_USER_ROLE = """
mutation SetRole($userId: ID!, $role: Role!) {
  setUserRole(userId: $userId, role: $role) { id role }
}
"""
USERS = "query { users { edges { node { id role } } } }"

URLSAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]+")
MIN_RANDOM_BITS = 128


async def admin_and_user(client: GraphQLClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first account registered is the ADMIN; the second a USER."""
    admin = await client.register("admin@example.com")
    user = await client.register("user@example.com")
    assert (admin["user"]["role"], user["user"]["role"]) == ("ADMIN", "USER")
    return admin, user


async def raw_rows(app: Any, table: str) -> list[tuple[Any, ...]]:
    async with app.state.services.sessionmaker() as db:
        return [tuple(row) for row in (await db.execute(text(f"SELECT * FROM {table}"))).all()]


# --- K1 -------------------------------------------------------------------------------


async def test_k1_key_has_kai_prefix_and_at_least_128_random_bits(client: GraphQLClient) -> None:
    _, user = await admin_and_user(client)

    secrets_made = {
        (await client.create_api_key(user["accessToken"], name=f"key {i}"))["secret"]
        for i in range(3)
    }

    assert len(secrets_made) == 3
    for secret in secrets_made:
        assert secret.startswith("kai_")
        random_part = secret.removeprefix("kai_")
        assert URLSAFE_BASE64.fullmatch(random_part), secret
        assert len(random_part) * 6 >= MIN_RANDOM_BITS


async def test_k1_prefix_field_shows_only_the_first_characters(client: GraphQLClient) -> None:
    _, user = await admin_and_user(client)

    created = await client.create_api_key(user["accessToken"])

    secret, prefix = created["secret"], created["apiKey"]["prefix"]
    assert prefix.startswith("kai_")
    assert secret.startswith(prefix)
    # What the prefix leaves hidden is still a full-strength secret.
    assert (len(secret) - len(prefix)) * 6 >= MIN_RANDOM_BITS


async def test_k1_api_key_table_stores_the_sha256_and_never_the_secret(
    client: GraphQLClient, app: Any
) -> None:
    _, user = await admin_and_user(client)
    created = await client.create_api_key(user["accessToken"])
    secret, prefix = created["secret"], created["apiKey"]["prefix"]
    # Using the key writes to its row (last use): still no secret.
    (await client.execute(ME, token=secret)).ok()

    rows = await raw_rows(app, "api_key")

    assert len(rows) == 1
    stored = [str(value) for value in rows[0]]
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    hidden = secret[len(prefix) :]
    for value in stored:
        assert secret not in value
        assert hidden[:16] not in value


async def test_k1_secret_is_shown_once_and_never_listed_again(client: GraphQLClient) -> None:
    _, user = await admin_and_user(client)
    created = await client.create_api_key(user["accessToken"], name="ci")
    secret, key_id = created["secret"], created["apiKey"]["id"]

    listed = await client.execute(API_KEYS, token=user["accessToken"])
    as_node = await client.execute(API_KEY_NODE, {"id": key_id}, token=user["accessToken"])

    assert [key["id"] for key in nodes(listed.ok()["apiKeys"])] == [key_id]
    assert as_node.ok()["node"]["id"] == key_id
    hidden = secret[len(created["apiKey"]["prefix"]) :]
    for result in (listed, as_node):
        assert secret not in str(result.body)
        assert hidden[:16] not in str(result.body)


# --- K2 -------------------------------------------------------------------------------


async def test_k2_expired_revoked_and_unknown_keys_fail_alike(
    client: GraphQLClient, app: Any
) -> None:
    _, user = await admin_and_user(client)
    token = user["accessToken"]
    expired = await client.create_api_key(token, name="expired")
    revoked = await client.create_api_key(token, name="revoked")
    async with app.state.services.sessionmaker() as db, db.begin():
        await db.execute(
            update(ApiKey)
            .where(col(ApiKey.id) == expired["apiKey"]["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    (await client.execute(REVOKE_API_KEY, {"id": revoked["apiKey"]["id"]}, token=token)).ok()
    unknown = "kai_" + secrets.token_urlsafe(32)

    answers = [
        await client.http.post("/graphql", json={"query": ME}, headers={"authorization": auth})
        for auth in (
            f"Bearer {expired['secret']}",
            f"Bearer {revoked['secret']}",
            f"Bearer {unknown}",
        )
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert answers[0].content == answers[1].content == answers[2].content
    assert answers[0].json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- K4 -------------------------------------------------------------------------------


async def test_k4_user_cannot_set_anyones_role_including_their_own(
    client: GraphQLClient,
) -> None:
    admin, user = await admin_and_user(client)
    token = user["accessToken"]

    to_admin = await client.execute(
        SET_USER_ROLE, {"userId": user["user"]["id"], "role": "ADMIN"}, token=token
    )
    demote_admin = await client.execute(
        SET_USER_ROLE, {"userId": admin["user"]["id"], "role": "USER"}, token=token
    )

    assert to_admin.codes == ["FORBIDDEN"]
    assert demote_admin.codes == ["FORBIDDEN"]
    roles = {
        u["id"]: u["role"]
        for u in nodes((await client.execute(USERS, token=admin["accessToken"])).ok()["users"])
    }
    assert roles == {admin["user"]["id"]: "ADMIN", user["user"]["id"]: "USER"}


async def test_k4_admin_cannot_change_their_own_role(client: GraphQLClient) -> None:
    admin, _ = await admin_and_user(client)

    result = await client.execute(
        SET_USER_ROLE, {"userId": admin["user"]["id"], "role": "USER"}, token=admin["accessToken"]
    )

    assert result.codes == ["FORBIDDEN"]
    assert (await client.execute(ME, token=admin["accessToken"])).ok()["me"]["role"] == "ADMIN"


@pytest.mark.parametrize(
    "permissions", [["agent.delete"], ["agent.*"], ["user.read"], ["*"], ["agent.read", "user.*"]]
)
async def test_k4_user_cannot_mint_a_key_wider_than_their_role(
    client: GraphQLClient, permissions: list[str]
) -> None:
    _, user = await admin_and_user(client)
    token = user["accessToken"]

    result = await client.execute(
        CREATE_API_KEY, {"input": {"name": "wide", "permissions": permissions}}, token=token
    )

    assert result.codes == ["FORBIDDEN"]
    assert nodes((await client.execute(API_KEYS, token=token)).ok()["apiKeys"]) == []


async def test_k4_narrowed_key_cannot_mint_a_wider_key(client: GraphQLClient) -> None:
    _, user = await admin_and_user(client)
    narrowed = await client.create_api_key(
        user["accessToken"], permissions=["agent.read", "apikey.manage"]
    )
    key = narrowed["secret"]

    wider = await client.execute(
        CREATE_API_KEY, {"input": {"name": "w", "permissions": ["agent.create"]}}, token=key
    )
    wildcard = await client.execute(
        CREATE_API_KEY, {"input": {"name": "w", "permissions": ["agent.*"]}}, token=key
    )
    unscoped = await client.execute(CREATE_API_KEY, {"input": {"name": "u"}}, token=key)

    assert wider.codes == ["FORBIDDEN"]
    assert wildcard.codes == ["FORBIDDEN"]
    # Asking for "everything" with a narrowed key yields a key just as narrow.
    assert unscoped.ok()["createApiKey"]["apiKey"]["permissions"] == ["agent.read", "apikey.manage"]
    child = unscoped.ok()["createApiKey"]["secret"]
    permissions = (await client.execute(SESSION_PERMISSIONS, token=child)).ok()["session"]
    assert permissions["permissions"] == ["agent.read", "apikey.manage"]


async def test_k4_key_without_apikey_manage_cannot_create_keys(client: GraphQLClient) -> None:
    _, user = await admin_and_user(client)
    read_only = await client.create_api_key(user["accessToken"], permissions=["agent.read"])

    result = await client.execute(
        CREATE_API_KEY,
        {"input": {"name": "same scope", "permissions": ["agent.read"]}},
        token=read_only["secret"],
    )

    assert result.codes == ["FORBIDDEN"]
    listed = (await client.execute(API_KEYS, token=user["accessToken"])).ok()["apiKeys"]
    assert len(nodes(listed)) == 1


# --- Bearer use, revocation, ownership ------------------------------------------------


async def test_api_key_authenticates_as_bearer_with_its_narrowed_permissions(
    client: GraphQLClient,
) -> None:
    _, user = await admin_and_user(client)
    created = await client.create_api_key(user["accessToken"], permissions=["agent.read"])

    me = await client.execute(ME, token=created["secret"])
    session = await client.execute(SESSION_PERMISSIONS, token=created["secret"])

    assert me.ok()["me"]["id"] == user["user"]["id"]
    assert session.ok()["session"]["permissions"] == ["agent.read"]


async def test_revoke_api_key_stops_it_at_once(client: GraphQLClient) -> None:
    _, user = await admin_and_user(client)
    created = await client.create_api_key(user["accessToken"])
    (await client.execute(ME, token=created["secret"])).ok()

    revoked = await client.execute(
        REVOKE_API_KEY, {"id": created["apiKey"]["id"]}, token=user["accessToken"]
    )

    assert revoked.ok()["revokeApiKey"] == {"id": created["apiKey"]["id"], "active": False}
    assert (await client.execute(ME, token=created["secret"])).codes == ["UNAUTHENTICATED"]


async def test_g10_another_users_key_is_not_found_for_revoke_and_node(
    client: GraphQLClient,
) -> None:
    _, user = await admin_and_user(client)
    other = await client.register("other@example.com")
    others_key = await client.create_api_key(other["accessToken"])
    key_id = others_key["apiKey"]["id"]
    token = user["accessToken"]

    revoke = await client.execute(REVOKE_API_KEY, {"id": key_id}, token=token)
    node = await client.execute(API_KEY_NODE, {"id": key_id}, token=token)
    unknown = await client.execute(REVOKE_API_KEY, {"id": "key_" + "0" * 32}, token=token)

    assert revoke.codes == ["NOT_FOUND"]
    assert node.codes == ["NOT_FOUND"]
    assert unknown.errors == revoke.errors
    assert (await client.execute(ME, token=others_key["secret"])).ok()["me"]["id"] == (
        other["user"]["id"]
    )


async def test_k7_no_key_outlives_the_maximum_lifetime(client: GraphQLClient) -> None:
    """An expiry past KAI_API_KEY_MAX_TTL_DAYS (365 by default) is refused (K7)."""
    token = (await client.register("keeper@example.com"))["accessToken"]
    too_late = (utcnow() + timedelta(days=366)).isoformat()
    just_in = (utcnow() + timedelta(days=364)).isoformat()

    refused = await client.execute(
        CREATE_API_KEY, {"input": {"name": "forever", "expiresAt": too_late}}, token=token
    )
    accepted = await client.execute(
        CREATE_API_KEY, {"input": {"name": "a year", "expiresAt": just_in}}, token=token
    )

    assert refused.codes == ["BAD_USER_INPUT"], refused.body
    assert refused.errors[0]["extensions"]["field"] == "input.expiresAt"
    assert accepted.ok()["createApiKey"]["secret"]


async def test_k7_an_empty_permission_list_is_a_key_that_may_do_nothing(
    client: GraphQLClient,
) -> None:
    token = (await client.register("keeper@example.com"))["accessToken"]

    empty = (
        await client.execute(
            CREATE_API_KEY, {"input": {"name": "n", "permissions": []}}, token=token
        )
    ).ok()["createApiKey"]
    omitted = (await client.execute(CREATE_API_KEY, {"input": {"name": "all"}}, token=token)).ok()[
        "createApiKey"
    ]

    # [] failed open: it made a key with all of the owner's permissions.
    assert empty["apiKey"]["permissions"] == []
    assert (await client.execute(SESSION_PERMISSIONS, token=empty["secret"])).ok()["session"][
        "permissions"
    ] == []
    assert (await client.execute(API_KEYS, token=empty["secret"])).codes == ["FORBIDDEN"]
    # Left out: all of the owner's, said as "*".
    assert omitted["apiKey"]["permissions"] == ["*"]
    everything = (await client.execute(SESSION_PERMISSIONS, token=token)).ok()
    assert (await client.execute(SESSION_PERMISSIONS, token=omitted["secret"])).ok() == everything
