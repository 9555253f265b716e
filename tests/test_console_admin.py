"""The console's administration pages in a real Chromium against a real `kai serve`: an API key
is created with a narrowed permission, its secret shown once with a warning, copied through the
clipboard (and it works as a bearer token), then hidden for good and revoked (and it stops
working); the keys list leaves revoked keys out unless asked and grows with "Load more"; the
audit log is read through its filters and pages; an administrator changes another account's
role and disables and enables it, and cannot change their own; the accounts are filtered by
email, role and status on the server and grow with "Load more"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.browser import (
    accessibility_violations,
    browser,
    overflows_horizontally,
    serving,
    shoot,
    watch,
)
from tests.support.console import UI_TIMEOUT_MS, graphql, register, register_admin, sign_in

__all__ = ["browser", "served"]  # fixtures

pytestmark = pytest.mark.slow

ADMIN = "admin-console@example.com"
MEMBER = "member-console@example.com"
CHANGED = "changed-console@example.com"
USERS = "{ users(first: 500) { edges { node { email role active } } } }"
CREATE_KEY = "mutation($name: String!) { createApiKey(input: {name: $name}) { apiKey { id } } }"
REVOKE_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) { id } }"
SET_ROLE = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id } }"
SET_ACTIVE = """
mutation($id: ID!, $active: Boolean!) { setUserActive(userId: $id, active: $active) { id } }
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As tests/support/browser.py's, with no limit on registrations from one address: a
    test here registers more accounts than a page of the Users page holds."""
    with serving(tmp_path_factory, KAI_RATE_LIMIT_AUTH_PER_IP="0") as url:
        yield url


@pytest.fixture(scope="module")
def accounts(served: str) -> dict[str, dict[str, Any]]:
    """The module's server's first account (ADMIN) and a USER."""
    return {"admin": register_admin(served, ADMIN), "member": register(served, MEMBER)}


def _open(browser: Any, url: str, width: int = 1280) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page_watch = watch(context, url)
    return context.new_page(), page_watch


def _as_bearer(url: str, token: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
    )
    return dict(response.json())


def _users(url: str, token: str) -> list[dict[str, Any]]:
    return [edge["node"] for edge in graphql(url, token, USERS)["users"]["edges"]]


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


def test_an_api_key_is_shown_once_copied_and_revoked(
    browser: Any, served: str, accounts: dict[str, dict[str, Any]]
) -> None:
    from playwright.sync_api import expect

    page, page_watch = _open(browser, served)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served)
    sign_in(page, served, ADMIN)
    page.goto(f"{served}/api-keys")
    expect(page.get_by_text("You have no API keys.")).to_be_visible(timeout=UI_TIMEOUT_MS)

    page.get_by_label("Name", exact=True).fill("deploy bot")
    page.get_by_label("Only those I choose").check()
    page.get_by_label("agent.read", exact=True).check()
    page.get_by_role("button", name="Create key").click()

    shown = page.get_by_label("The key", exact=True)
    expect(shown).to_have_value(re.compile(r"^kai_"), timeout=UI_TIMEOUT_MS)
    secret = shown.input_value()
    expect(page.get_by_role("alert")).to_contain_text("it is shown this once")
    # Focus goes to the new key's heading, the one thing to act on.
    expect(page.get_by_role("heading", name="Your new key “deploy bot”")).to_be_focused()
    page.get_by_role("button", name="Copy the key").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shoot(page, "console-api-key-secret")

    # The key works, with only the permission chosen.
    session = _as_bearer(served, secret, "{ session { permissions user { email } } }")
    assert session["data"]["session"] == {"permissions": ["agent.read"], "user": {"email": ADMIN}}

    # Hidden, it is gone from the page for good (a reload does not bring it back either).
    page.get_by_role("button", name="I have stored it: hide it").click()
    item = page.get_by_role("list", name="API keys").get_by_role("listitem")
    expect(item).to_contain_text("deploy bot", timeout=UI_TIMEOUT_MS)
    assert secret not in page.content()
    page.reload()
    expect(item).to_contain_text("Active", timeout=UI_TIMEOUT_MS)
    expect(item).to_contain_text("agent.read")
    expect(item).to_contain_text(secret[:8])
    assert secret not in page.content()

    # Revoked after confirming: the page says so, the server refuses the key.
    item.get_by_role("button", name="Revoke deploy bot").click()
    expect(item).to_contain_text("Programs using it are refused from now on")
    item.get_by_role("button", name="Yes, revoke the key").click()
    expect(item).to_contain_text("Revoked", timeout=UI_TIMEOUT_MS)
    expect(item.get_by_role("button", name="Revoke deploy bot")).to_have_count(0)
    assert _code(_as_bearer(served, secret, "{ me { email } }")) == "UNAUTHENTICATED"
    shoot(page, "console-api-key-revoked")

    # Read again, the list leaves revoked keys out unless asked for them.
    page.reload()
    expect(page.get_by_text("You have no API keys.")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("0 keys in all, not counting revoked ones")).to_be_visible()
    page.get_by_label("Show revoked keys").check()
    expect(item).to_contain_text("Revoked", timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("1 key in all", exact=True)).to_be_visible()
    assert accessibility_violations(page) == []
    page_watch.check()
    page.context.close()


def test_a_user_reaches_their_own_api_keys_from_the_main_navigation(
    browser: Any, served: str, accounts: dict[str, dict[str, Any]]
) -> None:
    from playwright.sync_api import expect

    page, page_watch = _open(browser, served)
    sign_in(page, served, MEMBER)
    main_nav = page.get_by_role("navigation", name="Main")
    assert main_nav.get_by_role("link", name="Admin").count() == 0
    main_nav.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("API keys")
    page.get_by_label("Name", exact=True).fill("my script")
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("The key", exact=True)
    expect(shown).to_have_value(re.compile(r"^kai_"), timeout=UI_TIMEOUT_MS)
    session = _as_bearer(served, shown.input_value(), "{ session { user { email role } } }")
    assert session["data"]["session"]["user"] == {"email": MEMBER, "role": "USER"}
    shoot(page, "console-api-key-user")
    page_watch.check()
    page.context.close()


def test_the_audit_log_is_filtered_and_paged(
    browser: Any, served: str, accounts: dict[str, dict[str, Any]]
) -> None:
    from playwright.sync_api import expect

    # 30 denied checks of the member's: `users` needs user.read, which a USER lacks.
    member_token = accounts["member"]["accessToken"]
    for _ in range(30):
        assert _code(_as_bearer(served, member_token, "{ users { totalCount } }")) == "FORBIDDEN"

    page, page_watch = _open(browser, served)
    sign_in(page, served, ADMIN)
    page.goto(f"{served}/admin/audit")
    table = page.get_by_role("region", name="Checks").get_by_role("table")
    expect(table).to_be_visible(timeout=UI_TIMEOUT_MS)

    page.get_by_label("User", exact=True).select_option(label=MEMBER)
    page.get_by_label("Permission", exact=True).fill("user.read")
    page.get_by_label("Outcome").select_option(label="Denied only")
    page.get_by_label("Per page").select_option("25")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"/admin/audit\?.*action=user\.read.*granted=false"))
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(25, timeout=UI_TIMEOUT_MS)
    for row in rows.all():
        expect(row).to_contain_text(MEMBER)
        expect(row).to_contain_text("user.read")
        expect(row).to_contain_text("Denied")
    expect(page.get_by_text("Page 1", exact=True)).to_be_visible()
    shoot(page, "console-audit-filtered")

    page.get_by_role("button", name="Older audit entries").click()
    expect(page.get_by_text("Page 2", exact=True)).to_be_visible()
    expect(rows).to_have_count(5, timeout=UI_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Older audit entries")).to_be_disabled()
    page.get_by_role("button", name="Newer audit entries").click()
    expect(rows).to_have_count(25, timeout=UI_TIMEOUT_MS)

    # The same filters from the address alone (a shared link): granted checks only.
    page.goto(f"{served}/admin/audit?action=user.read&granted=true")
    expect(page.get_by_label("Outcome")).to_have_value("true", timeout=UI_TIMEOUT_MS)
    expect(rows.first).to_be_visible(timeout=UI_TIMEOUT_MS)
    for row in rows.all():
        expect(row).to_contain_text("Granted")
        expect(row).not_to_contain_text(MEMBER)
    assert accessibility_violations(page) == []
    page_watch.check()
    page.context.close()


def test_users_roles_and_activation(
    browser: Any, served: str, accounts: dict[str, dict[str, Any]]
) -> None:
    from playwright.sync_api import expect

    admin_token = accounts["admin"]["accessToken"]
    # An account of this test's own: disabling it revokes its sessions.
    changed = register(served, CHANGED)
    page, page_watch = _open(browser, served, width=360)
    sign_in(page, served, ADMIN)
    page.goto(f"{served}/admin/users")
    users = page.get_by_role("list", name="Users")
    own = users.get_by_role("listitem").filter(has_text=ADMIN)
    member = users.get_by_role("listitem").filter(has_text=CHANGED)
    expect(member).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(own).to_contain_text("nobody changes their own role or status")
    expect(own.get_by_role("button")).to_have_count(0)
    expect(member).to_contain_text("User")
    expect(member).to_contain_text("Active")

    member.get_by_label(f"Role of {CHANGED}").select_option("DEVELOPER")
    member.get_by_role("button", name=f"Change role of {CHANGED}").click()
    expect(member.get_by_role("status")).to_have_text(
        f"{CHANGED} is now Developer.", timeout=UI_TIMEOUT_MS
    )
    listed = _users(served, admin_token)
    assert {"email": CHANGED, "role": "DEVELOPER", "active": True} in listed

    member.get_by_role("button", name=f"Disable {CHANGED}").click()
    expect(member).to_contain_text("Their sessions and API keys stop at once")
    member.get_by_role("button", name="Yes, disable the account").click()
    expect(member).to_contain_text("Disabled: cannot sign in", timeout=UI_TIMEOUT_MS)
    assert (
        _code(_as_bearer(served, changed["accessToken"], "{ me { email } }")) == "UNAUTHENTICATED"
    )
    assert not overflows_horizontally(page)
    shoot(page, "console-users-disabled-phone")

    member.get_by_role("button", name=f"Enable {CHANGED}").click()
    expect(member).to_contain_text("Active", timeout=UI_TIMEOUT_MS)
    listed = _users(served, admin_token)
    assert {"email": CHANGED, "role": "DEVELOPER", "active": True} in listed
    assert accessibility_violations(page) == []
    page_watch.check()
    page.context.close()


def test_the_keys_list_leaves_revoked_keys_out_unless_asked_and_loads_more(
    browser: Any, served: str, accounts: dict[str, dict[str, Any]]
) -> None:
    from playwright.sync_api import expect

    email = "keys-many@example.com"
    token = register(served, email)["accessToken"]
    ids = [
        graphql(served, token, CREATE_KEY, {"name": f"key {n:02}"})["createApiKey"]["apiKey"]["id"]
        for n in range(24)
    ]
    for revoked in (ids[0], ids[23]):
        graphql(served, token, REVOKE_KEY, {"id": revoked})
    page, page_watch = _open(browser, served)
    sign_in(page, served, email)
    page.goto(f"{served}/api-keys")
    listing = page.get_by_role("list", name="API keys")
    cards = listing.get_by_role("listitem")
    expect(page.get_by_text("22 keys in all, not counting revoked ones")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    # Newest first, 20 to a page: the newest (revoked) is left out.
    expect(cards).to_have_count(20)
    expect(cards.first.get_by_role("heading")).to_have_text("key 22")
    expect(page.get_by_text("20 of 22 keys shown")).to_be_visible()
    page.get_by_role("button", name="Load more keys").click()
    expect(cards).to_have_count(22, timeout=UI_TIMEOUT_MS)
    expect(cards.last.get_by_role("heading")).to_have_text("key 01")
    expect(page.get_by_role("button", name="Load more keys")).to_have_count(0)
    expect(listing.get_by_text("Revoked", exact=True)).to_have_count(0)

    page.get_by_label("Show revoked keys").check()
    expect(page.get_by_text("24 keys in all", exact=True)).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(cards).to_have_count(20)
    expect(cards.first).to_contain_text("Revoked")
    page.get_by_role("button", name="Load more keys").click()
    expect(cards).to_have_count(24, timeout=UI_TIMEOUT_MS)
    expect(cards.last).to_contain_text("key 00")
    expect(cards.last).to_contain_text("Revoked")
    shoot(page, "console-api-keys-revoked-shown")
    assert accessibility_violations(page) == []
    page_watch.check()
    page.context.close()


def test_accounts_are_filtered_on_the_server_and_loaded_a_page_at_a_time(
    browser: Any, served: str, accounts: dict[str, dict[str, Any]]
) -> None:
    from playwright.sync_api import expect

    admin_token = accounts["admin"]["accessToken"]
    crowd = [register(served, f"crowd-{n:02}@example.com")["user"]["id"] for n in range(30)]
    for user_id in crowd[:2]:
        graphql(served, admin_token, SET_ROLE, {"id": user_id, "role": "DEVELOPER"})
    for user_id in crowd[25:28]:
        graphql(served, admin_token, SET_ACTIVE, {"id": user_id, "active": False})
    page, page_watch = _open(browser, served)
    sign_in(page, served, ADMIN)
    page.goto(f"{served}/admin/users")
    users = page.get_by_role("list", name="Users")
    cards = users.get_by_role("listitem")
    filters = page.get_by_role("search", name="Filter users")
    expect(page.get_by_text(re.compile(r"^\d+ accounts in all$"))).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    expect(cards).to_have_count(25)

    filters.get_by_label("Email contains").fill("CROWD-")
    expect(page.get_by_text("30 accounts match these filters", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    # Oldest first, 25 to a page, then the rest.
    expect(cards.first.get_by_role("heading")).to_have_text("crowd-00@example.com")
    expect(cards).to_have_count(25)
    expect(page.get_by_text("25 of 30 accounts shown")).to_be_visible()
    page.get_by_role("button", name="Load more accounts").click()
    expect(cards).to_have_count(30, timeout=UI_TIMEOUT_MS)
    expect(cards.last.get_by_role("heading")).to_have_text("crowd-29@example.com")
    expect(page.get_by_text("All 30 accounts shown")).to_be_visible()

    filters.get_by_label("Role").select_option(label="Developer")
    expect(page.get_by_text("2 accounts match these filters", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    expect(cards).to_have_count(2)
    for card in cards.all():
        expect(card).to_contain_text("Developer")
    filters.get_by_label("Role").select_option(label="Any role")
    filters.get_by_label("Status").select_option(label="Disabled only")
    expect(page.get_by_text("3 accounts match these filters", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    assert [card.get_by_role("heading").inner_text() for card in cards.all()] == [
        f"crowd-{n}@example.com" for n in (25, 26, 27)
    ]
    filters.get_by_label("Email contains").fill("nobody-at-all")
    expect(page.get_by_text("No account matches these filters.")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    shoot(page, "console-users-filtered")
    assert accessibility_violations(page) == []
    page_watch.check()
    page.context.close()
