"""Every page of the console, as a person with a keyboard, a screen reader or a phone meets
it, in Chromium against a real `kai serve`: no serious or critical axe-core finding (WCAG 2.1
A and AA), one main heading, a skip link that is the first Tab stop and moves focus to the
content, and nothing wider than a 360-pixel phone. Signing in works from the keyboard alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import (
    accessibility_violations,
    browser,
    overflows_horizontally,
    served,
    shoot,
    watch,
)
from tests.support.console import UI_TIMEOUT_MS, graphql, register_admin, sign_in
from tests.support.graphql_client import DEFAULT_PASSWORD

__all__ = ["browser", "served"]  # fixtures

pytestmark = pytest.mark.slow

ADMIN = "a11y@example.com"
CREATE = "mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }"
CREATE_SCHEDULE = "mutation($input: ScheduleInput!) { createSchedule(input: $input) { id } }"
CREATE_WEBHOOK = (
    "mutation($input: WebhookInput!) { createWebhook(input: $input) { webhook { id } } }"
)
TEST_WEBHOOK = "mutation($id: ID!) { testWebhook(id: $id) { id } }"
CREATE_THREAD = "mutation($input: ThreadInput!) { createThread(input: $input) { id } }"
POST = """
mutation($threadId: ID!) { postMessage(threadId: $threadId, input: {content: "seen?"}) { id } }
"""
AGENT_STATE = "query($id: ID!) { agent(id: $id) { state } }"
ENQUEUE = """
mutation($agentId: ID!, $input: TaskInput!) {
  enqueueTask(agentId: $agentId, input: $input) { approval { id } }
}
"""
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def token(served: str) -> str:
    return str(register_admin(served, ADMIN)["accessToken"])


@pytest.fixture(scope="module")
def agent_id(served: str, token: str) -> str:
    created = graphql(served, token, CREATE, {"input": {"name": "seen", "type": "echo"}})
    return str(created["createAgent"]["id"])


@pytest.fixture(scope="module")
def schedule_id(served: str, token: str, agent_id: str) -> str:
    task = {"type": "echo", "payload": {"steps": 1}}
    schedule = {"agentId": agent_id, "name": "seen daily", "cron": "0 9 * * *", "task": task}
    created = graphql(served, token, CREATE_SCHEDULE, {"input": schedule})
    return str(created["createSchedule"]["id"])


@pytest.fixture(scope="module")
def webhook_id(served: str, token: str, agent_id: str) -> str:
    # Loopback's discard port, which a development server may call and nothing answers: the
    # test event's delivery fails there, and the page shows it with its error.
    webhook = {
        "url": "http://127.0.0.1:9/seen",
        "description": "seen events",
        "agentIds": [agent_id],
    }
    created = graphql(served, token, CREATE_WEBHOOK, {"input": webhook})
    made = str(created["createWebhook"]["webhook"]["id"])
    graphql(served, token, TEST_WEBHOOK, {"id": made})
    return made


@pytest.fixture(scope="module")
def thread_id(served: str, token: str, agent_id: str) -> str:
    """A thread with a question and its answer (the echo agent's, once it runs)."""
    input = {"agentId": agent_id, "title": "seen talk"}
    made = str(graphql(served, token, CREATE_THREAD, {"input": input})["createThread"]["id"])
    deadline = time.monotonic() + 30
    while graphql(served, token, AGENT_STATE, {"id": agent_id})["agent"]["state"] != "RUNNING":
        assert time.monotonic() < deadline, "the agent did not run"
        time.sleep(0.1)
    graphql(served, token, POST, {"threadId": made})
    return made


@pytest.fixture(scope="module")
def approval_id(served: str, token: str) -> str:
    """A task of an agent whose approval policy holds it: its approval waits, in the inbox."""
    policy = {"commands": ["deploy"], "taskTypes": ["echo"]}
    input = {"name": "careful", "type": "echo", "approvalPolicy": policy}
    agent = str(graphql(served, token, CREATE, {"input": input})["createAgent"]["id"])
    task = {"type": "echo", "payload": {"steps": 1, "note": "seen"}}
    queued = graphql(served, token, ENQUEUE, {"agentId": agent, "input": task})
    return str(queued["enqueueTask"]["approval"]["id"])


@pytest.fixture
def page(browser: Any, served: str) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    page_watch = watch(context, served)
    page = context.new_page()
    yield page
    page_watch.check()
    context.close()


def _pages(
    agent_id: str, schedule_id: str, webhook_id: str, thread_id: str, approval_id: str
) -> list[tuple[str, str]]:
    return [
        ("agents", "/agents"),
        ("agent", f"/agents/{agent_id}"),
        ("tasks", "/tasks"),
        ("schedules", "/schedules"),
        ("schedule", f"/schedules/{schedule_id}"),
        ("webhooks", "/webhooks"),
        ("webhook", f"/webhooks/{webhook_id}"),
        ("threads", "/threads"),
        ("thread", f"/threads/{thread_id}"),
        ("approvals", "/approvals"),
        ("approvals-decided", "/approvals?show=decided"),
        ("approval", f"/approvals/{approval_id}"),
        ("files", "/files"),
        ("users", "/admin/users"),
        ("api-keys", "/api-keys"),
        ("audit", "/admin/audit"),
    ]


def _check_page(page: Any, name: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", level=1)).to_have_count(1, timeout=UI_TIMEOUT_MS)
    page.wait_for_load_state("networkidle")
    assert accessibility_violations(page) == [], name
    # The skip link is the first Tab stop, and it moves the focus to the content.
    page.locator("body").focus()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    focused_in_main = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused_in_main, f"{name}: the skip link left the focus outside <main>"
    page.set_viewport_size(PHONE)
    assert not overflows_horizontally(page), f"{name} is wider than a phone"
    shoot(page, f"console-a11y-{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_the_signed_out_pages(page: Any, served: str) -> None:
    for name, path in (("sign-in", "/sign-in"), ("register", "/register")):
        page.goto(f"{served}{path}")
        _check_page(page, name)


def test_every_signed_in_page(
    page: Any,
    served: str,
    agent_id: str,
    schedule_id: str,
    webhook_id: str,
    thread_id: str,
    approval_id: str,
) -> None:
    sign_in(page, served, ADMIN)
    for name, path in _pages(agent_id, schedule_id, webhook_id, thread_id, approval_id):
        page.goto(f"{served}{path}")
        _check_page(page, name)


def test_signing_in_from_the_keyboard_alone(page: Any, served: str, agent_id: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served}/sign-in")
    email = page.get_by_role("region", name="With your password").get_by_label("Email", exact=True)
    expect(email).to_be_visible(timeout=UI_TIMEOUT_MS)
    # Tab from the top of the page until the email field has the focus, then type.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.type === 'email'"):
            break
    expect(email).to_be_focused()
    page.keyboard.type(ADMIN)
    page.keyboard.press("Tab")
    page.keyboard.type(DEFAULT_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=UI_TIMEOUT_MS)
    shoot(page, "console-a11y-keyboard-signed-in")
