"""Helpers for the console's browser tests: an account made over HTTP, and signing in through
the console's own sign-in form (tests/support/browser.py has the browser and the server)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.support.graphql_client import DEFAULT_PASSWORD, REGISTER

# How long a console page may take to show what a test waits for (a sign-in, a live event).
UI_TIMEOUT_MS = 15_000


def register(
    base_url: str, email: str, password: str = DEFAULT_PASSWORD, display_name: str | None = None
) -> dict[str, Any]:
    """Registers `email` over HTTP; returns the AuthPayload dict (accessToken, refreshToken,
    expiresAt, user {id email role})."""
    variables = {"input": {"email": email, "password": password, "displayName": display_name}}
    response = httpx.post(
        f"{base_url}/graphql", json={"query": REGISTER, "variables": variables}, timeout=30
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return dict(body["data"]["register"])


def register_admin(base_url: str, email: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    """Registers the server's first account, which kAI makes ADMIN; returns its AuthPayload
    dict. Fails when the server already had an account (the new one would be a USER)."""
    payload = register(base_url, email, password)
    assert payload["user"]["role"] == "ADMIN", (
        f"{email} is {payload['user']['role']}: only a server's first account becomes ADMIN"
    )
    return payload


def graphql(
    base_url: str, token: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Runs `query` over HTTP as the holder of `token`; returns `data` (errors fail the test)."""
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return dict(body["data"])


def sign_in(page: Any, base_url: str, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """Signs in through the console's sign-in form, as a person would (by the fields' labels),
    and waits until the console shows the signed-in user in its header."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/sign-in")
    form = page.get_by_role("region", name="With your password")
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.locator("header")).to_contain_text(email.lower(), timeout=UI_TIMEOUT_MS)
    page.wait_for_url(re.compile(r"^(?!.*/sign-in).*$"), timeout=UI_TIMEOUT_MS)
