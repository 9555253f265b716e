"""Accounts end to end over /graphql: register, login, refresh, logout, me, session."""

from __future__ import annotations

from tests.support.graphql_client import GraphQLClient

ME = "query { me { id email role displayName } }"
SESSION = "query { session { id user { email } createdAt expiresAt permissions } }"
LOGOUT = "mutation { logout }"
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken user { email } }
}
"""


async def test_first_user_becomes_admin_and_later_ones_users(client: GraphQLClient) -> None:
    first = await client.register("first@example.com", display_name="First")
    second = await client.register("second@example.com")

    assert first["user"]["role"] == "ADMIN"
    assert second["user"]["role"] == "USER"


async def test_register_login_refresh_logout_flow(client: GraphQLClient) -> None:
    registered = await client.register("ada@example.com", display_name="Ada")
    me = (await client.execute(ME, token=registered["accessToken"])).ok()["me"]
    assert me["email"] == "ada@example.com" and me["displayName"] == "Ada"

    logged_in = await client.login("ADA@example.com")
    refreshed = (await client.execute(REFRESH, {"token": logged_in["refreshToken"]})).ok()[
        "refreshToken"
    ]
    assert refreshed["user"]["email"] == "ada@example.com"

    assert (await client.execute(LOGOUT, token=refreshed["accessToken"])).ok()["logout"] is True
    after = await client.execute(ME, token=refreshed["accessToken"])
    assert after.codes == ["UNAUTHENTICATED"]
    # The other session (from register) is untouched.
    assert (await client.execute(ME, token=registered["accessToken"])).ok()["me"]


async def test_me_is_null_without_credentials(client: GraphQLClient) -> None:
    assert (await client.execute(ME)).ok() == {"me": None}


async def test_session_reports_effective_permissions(client: GraphQLClient) -> None:
    await client.register("admin@example.com")
    user = await client.register("user@example.com")

    session = (await client.execute(SESSION, token=user["accessToken"])).ok()["session"]

    assert session["user"]["email"] == "user@example.com"
    assert "agent.create" in session["permissions"]
    assert "agent.delete" not in session["permissions"]
    assert "system.audit" not in session["permissions"]


async def test_session_without_credentials_is_unauthenticated(client: GraphQLClient) -> None:
    assert (await client.execute(SESSION)).codes == ["UNAUTHENTICATED"]


async def test_login_finds_an_account_whatever_the_unicode_form_of_the_address(
    client: GraphQLClient,
) -> None:
    composed = "zo\u00e9@b\u00fccher.example"  # é and ü as single code points (NFC)
    decomposed = "ZOE\u0301@BU\u0308CHER.example"  # the same letters as base + accent (NFD)
    registered = await client.register(composed)

    logged_in = await client.login(decomposed)

    assert logged_in["user"]["id"] == registered["user"]["id"]
