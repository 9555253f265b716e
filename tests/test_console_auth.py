"""The console's sign-in, registration, magic link and session handling in a real Chromium
against a real `kai serve`:

- a password sign-in (a wrong password is refused in words), and sign-out, which revokes the
  session on the server and forgets the refresh token;
- registration through the form, where the first account becomes ADMIN (the page says so
  beforehand, and the header then offers Admin) and the next one does not;
- a magic link mailed over real SMTP (aiosmtpd), whose landing page signs the user in and
  takes the token out of the address bar;
- refresh-token rotation keeping a session alive well past its access token's lifetime: on
  the page's own timer, and after an UNAUTHENTICATED answer (the page's clock held still, so
  it sends an expired token); each refresh token is spent once, and a session whose refresh
  token was replayed elsewhere ends in words;
- every ErrorCode of the schema has words in the console.
"""

from __future__ import annotations

import json
import queue
import re
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from graphql import GraphQLEnumType, build_schema

from tests.support.apps import link_in, token_of
from tests.support.browser import (
    accessibility_violations,
    browser,
    overflows_horizontally,
    shoot,
    watch,
)
from tests.support.console import UI_TIMEOUT_MS, graphql, register, sign_in
from tests.support.graphql_client import DEFAULT_PASSWORD
from tests.support.servers import ROOT, clean_env, free_port, kai_serve

__all__ = ["browser"]  # fixtures

pytestmark = pytest.mark.slow

# Short enough that a test outlives several access tokens; the server accepts a token up to
# KAI_JWT_LEEWAY_SECONDS (10) past its expiry.
ACCESS_TOKEN_TTL = 12
REFRESH_STORAGE_KEY = "kai.console.refreshToken"
CREATE_AGENT = """
mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }
"""
SEND = """
mutation($id: ID!, $command: String!) {
  sendCommand(agentId: $id, command: {command: $command}) { success }
}
"""
REFRESH = """
mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken } }
"""


class Inbox:
    """aiosmtpd's handler: every message the server sends, in arrival order."""

    def __init__(self) -> None:
        self.messages: queue.Queue[EmailMessage] = queue.Queue()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.put(message)
        return "250 OK"

    def next(self, timeout: float = 15) -> EmailMessage:
        return self.messages.get(timeout=timeout)


@pytest.fixture(scope="module")
def mail() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _serve(tmp: Path, smtp_port: int | None = None, ttl: int = ACCESS_TOKEN_TTL) -> Any:
    port = free_port()
    env = clean_env(
        KAI_ENV="development",
        KAI_DATA_DIR=str(tmp),
        KAI_PUBLIC_URL=f"http://127.0.0.1:{port}",
        KAI_ACCESS_TOKEN_TTL_SECONDS=str(ttl),
        **({"KAI_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}"} if smtp_port else {}),
    )
    return kai_serve(env, port=port)


@pytest.fixture(scope="module")
def served_with_mail(
    tmp_path_factory: pytest.TempPathFactory, mail: tuple[Inbox, int]
) -> Iterator[str]:
    """`kai serve` that mails through the test's SMTP server, names itself in the links it
    mails (KAI_PUBLIC_URL), and issues access tokens that live ACCESS_TOKEN_TTL seconds."""
    with _serve(tmp_path_factory.mktemp("kai-console-auth"), mail[1]) as (url, _process):
        yield url


def _open(browser: Any, url: str, width: int = 1280) -> tuple[Any, Any, Any]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page_watch = watch(context, url)
    return context, context.new_page(), page_watch


def _operations(page: Any, name: str) -> list[dict[str, Any]]:
    """Starts recording the page's POSTs of the GraphQL operation `name`: each one's variables
    and, once answered, its error codes (a list, filled in as answers arrive)."""
    seen: list[dict[str, Any]] = []

    def on_request(request: Any) -> None:
        if request.method != "POST" or not request.url.endswith("/graphql"):
            return
        try:
            body = json.loads(request.post_data or "{}")
        except ValueError:
            return
        if body.get("operationName") == name:
            seen.append({"request": request, "variables": body.get("variables") or {}})

    page.on("request", on_request)
    return seen


def _codes(entry: dict[str, Any]) -> list[str]:
    response = entry["request"].response()
    assert response is not None
    body = response.json()
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def _stored_refresh_token(page: Any) -> str | None:
    value = page.evaluate(f"localStorage.getItem({json.dumps(REFRESH_STORAGE_KEY)})")
    return value if isinstance(value, str) else None


def _eventually(page: Any, check: Any, timeout: float = 15) -> Any:
    """`check()` once it stops failing; waits through Playwright (whose route handler lets
    the page's requests through only while it runs)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(200)


def test_console_words_every_error_code_of_the_schema() -> None:
    schema = build_schema((ROOT / "graphql.schema").read_text())
    codes = schema.type_map["ErrorCode"]
    assert isinstance(codes, GraphQLEnumType)
    source = (ROOT / "console" / "src" / "app" / "errors.tsx").read_text()
    listed = re.search(r"ERROR_CODES = \[(.*?)\] as const", source, re.S)
    assert listed is not None
    assert re.findall(r'"([A-Z_]+)"', listed.group(1)) == list(codes.values)
    for code in codes.values:
        assert re.search(rf"^\s+{code}: ", source, re.M), f"no words for {code}"


def test_password_sign_in_refuses_a_wrong_password_in_words_and_sign_out_ends_the_session(
    browser: Any, served_with_mail: str
) -> None:
    url = served_with_mail
    email = "sign-in@example.com"
    register(url, email)
    context, page, page_watch = _open(browser, url, width=360)

    # A visitor with no session is sent to the sign-in page, which fits a phone.
    page.goto(f"{url}/agents")
    page.wait_for_url(re.compile(r"/sign-in\?next=%2Fagents$"), timeout=UI_TIMEOUT_MS)
    assert not overflows_horizontally(page)
    assert accessibility_violations(page) == []

    form = page.get_by_role("region", name="With your password")
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Password", exact=True).fill("not the password at all")
    form.get_by_role("button", name="Sign in").click()
    alert = form.get_by_role("alert")
    alert.wait_for(timeout=UI_TIMEOUT_MS)
    assert alert.inner_text() == "Sign-in refused. Invalid email or password."
    assert _stored_refresh_token(page) is None
    shoot(page, "console-sign-in-refused")

    sign_in(page, url, email)
    assert page.url == f"{url}/agents"
    refresh_token = _stored_refresh_token(page)
    assert refresh_token
    # The access token is only in memory: the page stored the refresh token and nothing else.
    stored = page.evaluate("[Object.entries(localStorage), Object.entries(sessionStorage)]")
    assert stored == [[[REFRESH_STORAGE_KEY, refresh_token]], []]
    assert page.evaluate("document.cookie") == ""
    shoot(page, "console-signed-in-phone")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{url}/sign-in", timeout=UI_TIMEOUT_MS)
    assert _stored_refresh_token(page) is None
    # The server ended the session: its refresh token no longer works.
    answer = httpx.post(
        f"{url}/graphql", json={"query": REFRESH, "variables": {"token": refresh_token}}
    ).json()
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    page.goto(f"{url}/agents")
    page.wait_for_url(re.compile(r"/sign-in"), timeout=UI_TIMEOUT_MS)
    page_watch.check()
    context.close()


def test_a_rate_limited_sign_in_says_in_how_many_seconds_to_try_again(
    browser: Any, served_with_mail: str
) -> None:
    from playwright.sync_api import expect

    url = served_with_mail
    email = "limited@example.com"
    register(url, email)
    context, page, page_watch = _open(browser, url)
    page.goto(f"{url}/sign-in")
    form = page.get_by_role("region", name="With your password")
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Password", exact=True).fill("wrong wrong wrong")
    alert = form.get_by_role("alert")
    # kAI allows 10 sign-in attempts per account in 5 minutes (KAI_RATE_LIMIT_AUTH_PER_ACCOUNT);
    # each click waits until the button is enabled again (the last attempt answered).
    for _ in range(11):
        form.get_by_role("button", name="Sign in", exact=True).click()
    expect(alert).to_have_text(
        re.compile(
            r"^Too many requests: try again in \d+ s\. Too many attempts; retry in \d+ s\.$"
        ),
        timeout=UI_TIMEOUT_MS,
    )
    shoot(page, "console-sign-in-rate-limited")
    page_watch.check()
    context.close()


def test_register_makes_the_first_account_admin_and_the_next_a_user(
    browser: Any, tmp_path: Path
) -> None:
    with _serve(tmp_path) as (url, _process):
        for email, role in (("first@example.com", "ADMIN"), ("second@example.com", "USER")):
            context, page, page_watch = _open(browser, url)
            page.goto(f"{url}/sign-in")
            page.get_by_role("link", name="Register").click()
            page.wait_for_url(f"{url}/register")
            notice = page.get_by_text("The first account registered on a kAI server")
            assert "administrator (ADMIN)" in notice.inner_text()
            assert accessibility_violations(page) == []
            page.get_by_label("Email", exact=True).fill(email)
            page.get_by_label("Display name (optional)").fill(email.split("@")[0].title())
            password = page.get_by_label("Password", exact=True)
            password.fill("short")
            page.get_by_text("At least 8 characters.").wait_for()
            password.fill(DEFAULT_PASSWORD)
            shoot(page, f"console-register-{role.lower()}")
            page.get_by_role("button", name="Register").click()
            page.wait_for_url(f"{url}/agents", timeout=UI_TIMEOUT_MS)
            header = page.locator("header")
            header.get_by_text(email).wait_for(timeout=UI_TIMEOUT_MS)
            admin_link = page.get_by_role("navigation", name="Main").get_by_role(
                "link", name="Admin"
            )
            assert admin_link.count() == (1 if role == "ADMIN" else 0)
            me = graphql(url, _login(url, email), "{ me { role displayName } }")["me"]
            assert me == {"role": role, "displayName": email.split("@")[0].title()}
            page_watch.check()
            context.close()

        # An address already registered is refused in words.
        context, page, page_watch = _open(browser, url)
        page.goto(f"{url}/register")
        page.get_by_label("Email", exact=True).fill("first@example.com")
        page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Register").click()
        alert = page.get_by_role("alert")
        alert.wait_for(timeout=UI_TIMEOUT_MS)
        assert "conflicts with the current state" in alert.inner_text()
        shoot(page, "console-register-conflict")
        page_watch.check()
        context.close()


def test_magic_link_landing_page_signs_in_and_takes_the_token_out_of_the_address(
    browser: Any, served_with_mail: str, mail: tuple[Inbox, int]
) -> None:
    url = served_with_mail
    inbox, _port = mail
    email = "magic@example.com"
    register(url, email)
    context, page, page_watch = _open(browser, url)
    page.goto(f"{url}/sign-in")
    form = page.get_by_role("region", name="With a link by email")
    form.get_by_label("Email for the sign-in link").fill(email)
    form.get_by_role("button", name="Email me a link").click()
    form.get_by_text(f"If {email} has an account, a sign-in link is on its way").wait_for(
        timeout=UI_TIMEOUT_MS
    )
    shoot(page, "console-magic-link-requested")

    message = inbox.next()
    assert message["To"] == email
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    link = link_in(body.get_content())
    assert link.startswith(f"{url}/magic-link?token=")
    token = token_of(link)

    addresses: list[str] = []
    page.on("framenavigated", lambda frame: addresses.append(frame.url))
    page.goto(link)
    page.wait_for_url(f"{url}/agents", timeout=UI_TIMEOUT_MS)
    page.locator("header").get_by_text(email).wait_for(timeout=UI_TIMEOUT_MS)
    # Neither the address bar nor the history the page left behind holds the token.
    assert token not in page.url
    assert page.evaluate("history.length") >= 1
    page.go_back()
    page.wait_for_url(re.compile(r"/magic-link$|/sign-in"), timeout=UI_TIMEOUT_MS)
    assert token not in page.url
    assert token not in page.evaluate("JSON.stringify({...localStorage, ...sessionStorage})")
    shoot(page, "console-magic-link-signed-in")

    # The link worked once: opened again, it is refused in words.
    page.goto(link)
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=UI_TIMEOUT_MS)
    assert token not in page.url
    assert "This sign-in link did not work. This sign-in link is invalid, used or expired." in (
        alert.inner_text()
    )
    assert "A link works once" in page.locator("main").inner_text()
    shoot(page, "console-magic-link-spent")
    page_watch.check()
    context.close()


def test_refresh_rotation_keeps_the_session_alive_past_the_access_tokens_lifetime(
    browser: Any, served_with_mail: str
) -> None:
    url = served_with_mail
    email = "rotation@example.com"
    token = register(url, email)["accessToken"]
    agent_id = graphql(url, token, CREATE_AGENT, {"input": {"name": "kept", "type": "echo"}})[
        "createAgent"
    ]["id"]
    context, page, page_watch = _open(browser, url)
    refreshes = _operations(page, "ConsoleRefreshToken")
    agent_reads = _operations(page, "ConsoleAgentStatus")
    sockets: list[Any] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    sign_in(page, url, email)
    first_token = _stored_refresh_token(page)
    page.get_by_role("link", name="kept").click()
    events = page.get_by_role("region", name="Live events")
    _eventually(page, lambda: _equal(_shown_seqs(events), [2, 1]))

    # Three access-token lifetimes (and then some, past the server's leeway) go by: the page
    # renews its token on its own timer before each one ends, and its live socket signs in
    # again with the new one. (Waiting through Playwright, not time.sleep: the watch's route
    # handler lets each request through only while it runs.)
    page.wait_for_timeout((3 * ACCESS_TOKEN_TTL + 2) * 1000)
    assert len(refreshes) >= 3, refreshes
    spent = [entry["variables"]["refreshToken"] for entry in refreshes]
    assert spent[0] == first_token
    assert len(set(spent)) == len(spent), "a refresh token was presented twice"
    assert all(_codes(entry) == [] for entry in refreshes)

    # The page still reads and still streams, with no gap and no error.
    graphql(url, _login(url, email), SEND, {"id": agent_id, "command": "still-there"})
    _eventually(page, lambda: _equal(_shown_seqs(events), [3, 2, 1]))
    assert "still-there succeeded" in events.inner_text()
    # Each renewal reopened the socket with the new token before the old one expired: the
    # server never had to close it, so the page never saw the connection drop.
    assert len(sockets) >= 3
    assert "Connection lost" not in events.inner_text()
    assert "Reconnected" not in events.inner_text()
    assert page.get_by_role("alert").count() == 0
    assert agent_reads and all(_codes(entry) == [] for entry in agent_reads)

    # A reload keeps the session: the stored refresh token buys a new access token.
    page.reload()
    page.locator("header").get_by_text(email).wait_for(timeout=UI_TIMEOUT_MS)
    _eventually(page, lambda: _equal(_shown_seqs(events), [3, 2, 1]))
    shoot(page, "console-session-renewed")
    page_watch.check()
    context.close()


def _login(url: str, email: str) -> str:
    """A fresh access token for `email` (the test's own, over HTTP)."""
    answer = httpx.post(
        f"{url}/graphql",
        json={
            "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            "variables": {"i": {"email": email, "password": DEFAULT_PASSWORD}},
        },
    ).json()
    return str(answer["data"]["login"]["accessToken"])


def _shown_seqs(events: Any) -> list[int]:
    return [int(text) for text in events.locator("td.seq").all_inner_texts()]


def _equal(actual: Any, expected: Any) -> None:
    assert actual == expected


def test_an_expired_access_token_is_renewed_once_after_unauthenticated_and_the_request_retried(
    browser: Any, served_with_mail: str
) -> None:
    url = served_with_mail
    email = "unauthenticated@example.com"
    register(url, email)
    context, page, page_watch = _open(browser, url)
    # The page's clock stands still: its renewal timer never fires and it believes its token
    # fresh, so after the token's real lifetime (and the server's leeway) it sends it expired.
    page.clock.install()
    sign_in(page, url, email)
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)  # seconds
    refreshes = _operations(page, "ConsoleRefreshToken")
    agent_reads = _operations(page, "ConsoleAgents")
    page.wait_for_timeout((ACCESS_TOKEN_TTL + 12) * 1000)
    page.get_by_role("button", name="Refresh").click()
    _eventually(page, lambda: _assert_reads(agent_reads, [["UNAUTHENTICATED"], []]))
    assert len(refreshes) == 1
    assert _codes(refreshes[0]) == []
    assert refreshes[0]["variables"]["refreshToken"] != _stored_refresh_token(page)
    page.get_by_text("0 agents").wait_for(timeout=UI_TIMEOUT_MS)
    assert page.get_by_role("alert").count() == 0

    # The refresh token just spent is replayed by someone else: kAI revokes the session, and
    # the page's next request ends in the sign-in page, saying why.
    replay = httpx.post(
        f"{url}/graphql",
        json={"query": REFRESH, "variables": {"token": refreshes[0]["variables"]["refreshToken"]}},
    ).json()
    assert replay["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    page.get_by_role("button", name="Refresh").click()
    page.wait_for_url(re.compile(r"/sign-in"), timeout=UI_TIMEOUT_MS)
    page.get_by_text("Your session has ended; sign in again.").wait_for(timeout=UI_TIMEOUT_MS)
    assert _stored_refresh_token(page) is None
    shoot(page, "console-session-revoked")
    page_watch.check()
    context.close()


def _assert_reads(reads: list[dict[str, Any]], expected: list[list[str]]) -> None:
    answered = [entry for entry in reads if entry["request"].response() is not None]
    assert [_codes(entry) for entry in answered] == expected


def test_a_session_revoked_elsewhere_ends_an_idle_live_page_in_words(
    browser: Any, tmp_path: Path
) -> None:
    # Access tokens of an hour: the page's renewal timer stays out of it.
    with _serve(tmp_path, ttl=3600) as (url, _process):
        email = "revoked@example.com"
        token = register(url, email)["accessToken"]
        graphql(url, token, CREATE_AGENT, {"input": {"name": "idle", "type": "echo"}})
        context, page, page_watch = _open(browser, url)
        refreshes = _operations(page, "ConsoleRefreshToken")
        sign_in(page, url, email)
        page.get_by_role("link", name="idle").click()
        events = page.get_by_role("region", name="Live events")
        _eventually(page, lambda: _equal(_shown_seqs(events), [2, 1]))
        page.wait_for_timeout(1500)  # the reads that those events set off are answered
        renewals_before = len(refreshes)

        # The page's refresh token is replayed elsewhere: kAI revokes the whole session.
        stolen = _stored_refresh_token(page)
        for expected in ([], ["UNAUTHENTICATED"]):
            answer = httpx.post(
                f"{url}/graphql", json={"query": REFRESH, "variables": {"token": stolen}}
            ).json()
            assert [e["extensions"]["code"] for e in answer.get("errors") or []] == expected

        # The page sends nothing of its own accord, but the server closes its socket (4403)
        # within KAI_WS_AUTH_CHECK_SECONDS: it tries to renew once, and says why it signed out.
        page.wait_for_url(re.compile(r"/sign-in"), timeout=UI_TIMEOUT_MS)
        page.get_by_text("Your session has ended; sign in again.").wait_for(timeout=UI_TIMEOUT_MS)
        assert _stored_refresh_token(page) is None
        assert renewals_before == 0
        assert [entry["variables"]["refreshToken"] for entry in refreshes] == [stolen]
        shoot(page, "console-session-revoked-elsewhere")
        page_watch.check()
        context.close()
