"""The console's Webhooks pages in a real Chromium against a real `kai serve`, delivering to a
real endpoint on loopback (tests/support/webhook_receiver.py, which checks every signature
with the `standardwebhooks` package):

- a URL the server refuses is said beside the URL field (BAD_USER_INPUT naming input.url),
  which takes the focus, and nothing is made;
- a webhook made through the form (one event type, one agent): its signing secret is shown
  once, copied, and gone once hidden; the list shows its URL, description, types, agents;
- a command sent to the agent is delivered, signed with that secret, and its delivery is in
  the webhook's table as DELIVERED with its attempt and status;
- a test event the endpoint refuses (HTTP 500) is pending with its status, error and next
  attempt; redelivered while it still fails it is FAILED ("Failed only" finds it), and
  redelivered once the endpoint answers it is DELIVERED, with the same webhook-id;
- the secret rotated: the new one shown once, and the next request signed with both;
- a replay of the agent's events says how many it queued; the settings edited; switched off
  (nothing queued for a command) and on; deleted after a question.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.browser import accessibility_violations, browser, serving, shoot, watch
from tests.support.console import UI_TIMEOUT_MS, graphql, register, register_admin, sign_in
from tests.support.webhook_receiver import Receiver, webhook_receiver

__all__ = ["browser"]  # fixtures

pytestmark = pytest.mark.slow

CREATE_AGENT = "mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }"
AGENT = "query($id: ID!) { agent(id: $id) { state } }"
COMMAND = """
mutation($agentId: ID!, $command: String!) {
  sendCommand(agentId: $agentId, command: {command: $command}) { success }
}
"""
WEBHOOKS = """
query {
  webhooks(first: 100) {
    totalCount
    edges { node { id url description eventTypes active agents { id } } }
  }
}
"""
DELIVERIES = """
query($id: ID!) {
  webhook(id: $id) {
    deliveries(first: 100) {
      totalCount
      edges { node { id eventSeq eventType state attempts lastStatusCode lastError } }
    }
  }
}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kai serve` whose sender looks for due deliveries often, and retries a failed one
    once, ten minutes later: a failing delivery is seen PENDING with its next attempt, and a
    redelivery that fails too makes it FAILED."""
    with serving(
        tmp_path_factory, KAI_WEBHOOK_POLL_SECONDS="0.1", KAI_WEBHOOK_RETRY_SECONDS="600"
    ) as url:
        yield url


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """The loopback endpoint, run on an event loop of its own in a thread (the browser
    tests are synchronous)."""
    started = threading.Event()
    held: dict[str, Any] = {}

    async def serve() -> None:
        held["stop"] = asyncio.Event()
        async with webhook_receiver() as receiver:
            held["receiver"], held["loop"] = receiver, asyncio.get_running_loop()
            started.set()
            await held["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(15), "the webhook receiver did not start"
    try:
        yield held["receiver"]
    finally:
        held["loop"].call_soon_threadsafe(held["stop"].set)
        thread.join(15)


def _answering(status: int) -> Callable[[int], Any]:
    async def answer(_: int) -> int:
        return status

    return answer


def _eventually(page: Any, check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    """Until `check()` holds, waiting through Playwright (the watch's route handler lets the
    page's requests through only while Playwright runs)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)


def _running_echo(page: Any, url: str, token: str, name: str) -> str:
    agent_id = str(
        graphql(url, token, CREATE_AGENT, {"input": {"name": name, "type": "echo"}})["createAgent"][
            "id"
        ]
    )
    _eventually(
        page,
        lambda: graphql(url, token, AGENT, {"id": agent_id})["agent"]["state"] == "RUNNING",
        f"agent {name} to run",
    )
    return agent_id


def _webhooks(url: str, token: str) -> list[dict[str, Any]]:
    return [edge["node"] for edge in graphql(url, token, WEBHOOKS)["webhooks"]["edges"]]


def _deliveries(url: str, token: str, webhook_id: str) -> list[dict[str, Any]]:
    data = graphql(url, token, DELIVERIES, {"id": webhook_id})["webhook"]["deliveries"]
    return [edge["node"] for edge in data["edges"]]


def _fact(page: Any, term: str) -> Any:
    """The <dd> of a fact on the webhook's page (dl.facts: each term and value in a div)."""
    return (
        page.locator("dl.facts > div").filter(has=page.get_by_text(term, exact=True)).locator("dd")
    )


def _delivery_row(page: Any, delivery_id: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_text(delivery_id, exact=True))


def _cell(row: Any, label: str) -> Any:
    return row.locator(f'[data-label="{label}"]')


def test_a_webhook_is_made_delivers_fails_is_redelivered_rotated_replayed_and_deleted(
    browser: Any, served: str
) -> None:
    from playwright.sync_api import expect

    register_admin(served, "webhooks-admin@example.com")  # the user below is a USER
    email = "webhooks@example.com"
    token = register(served, email)["accessToken"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served)
    page_watch = watch(context, served)
    page = context.new_page()
    reporter = _running_echo(page, served, token, "reporter")
    _running_echo(page, served, token, "quiet")
    with running_receiver() as receiver:
        hook = f"{receiver.url}/hook"
        sign_in(page, served, email)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
        expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
        expect(page.get_by_text("You have no webhooks yet")).to_be_visible(timeout=UI_TIMEOUT_MS)

        # Refused by the server: said beside the URL field, which takes the focus.
        page.get_by_role("button", name="New webhook").click()
        form = page.get_by_role("region", name="New webhook")
        url_field = form.get_by_label("URL", exact=True)
        url_field.fill("ftp://127.0.0.1/hook")
        form.get_by_role("button", name="Create webhook").click()
        expect(url_field).to_have_attribute("aria-invalid", "true", timeout=UI_TIMEOUT_MS)
        expect(url_field).to_have_accessible_description(
            re.compile(r"An https:// URL with a host\.")
        )
        expect(url_field).to_be_focused()
        expect(form.get_by_text("Correct the values marked above.")).to_be_visible()
        shoot(page, "console-webhooks-refused-url")
        assert accessibility_violations(page) == []
        assert _webhooks(served, token) == []

        # Made: one event type, one agent; the secret shown once, copied.
        url_field.fill(hook)
        expect(url_field).not_to_have_attribute("aria-invalid", "true")
        form.get_by_label("Description (optional)").fill("results of reporter")
        form.get_by_role("checkbox", name="Command results").check()
        form.get_by_role("checkbox", name="reporter", exact=True).check()
        form.get_by_role("button", name="Create webhook").click()
        card = page.get_by_role("region", name="The signing secret of your new webhook")
        expect(card).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(card.get_by_role("alert")).to_contain_text("it will not be shown again")
        secret = card.get_by_label("Signing secret").input_value()
        assert secret.startswith("whsec_"), secret
        receiver.secrets.append(secret)
        card.get_by_role("button", name="Copy the secret").click()
        expect(card.get_by_text("Copied to the clipboard.")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == secret
        [stored] = _webhooks(served, token)
        assert stored["url"] == hook and stored["description"] == "results of reporter"
        assert stored["eventTypes"] == ["COMMAND_RESULT"], stored
        assert stored["agents"] == [{"id": reporter}] and stored["active"] is True, stored

        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=hook))
        expect(_cell(row, "Description")).to_have_text("results of reporter")
        expect(_cell(row, "Event types")).to_have_text("Command results")
        expect(_cell(row, "Agents")).to_have_text("reporter")
        expect(_cell(row, "Active")).to_have_text("Active")
        expect(page.get_by_text("1 webhook of yours", exact=True)).to_be_visible()
        shoot(page, "console-webhooks-secret-once")
        assert accessibility_violations(page) == []
        card.get_by_role("button", name="I have stored it: hide it").click()
        expect(card).to_have_count(0)
        assert secret not in page.content()

        # Its page; a command to the agent is delivered, signed, and shown DELIVERED.
        row.get_by_role("link", name=hook).click()
        expect(page.get_by_role("heading", name=f"Webhook {hook}", level=1)).to_be_visible(
            timeout=UI_TIMEOUT_MS
        )
        assert page.url.endswith(f"/webhooks/{stored['id']}")
        expect(_fact(page, "Event types")).to_have_text("Command results")
        expect(_fact(page, "Agents")).to_have_text("reporter")
        expect(page.get_by_text("No deliveries yet")).to_be_visible()
        graphql(served, token, COMMAND, {"agentId": reporter, "command": "ping"})
        _eventually(page, lambda: len(receiver.at("/hook")) == 1, "the command's event")
        [came] = receiver.at("/hook")
        assert came.verified_by == [secret] and came.body["type"] == "COMMAND_RESULT", came
        page.get_by_role("button", name="Refresh the deliveries").click()
        delivered = _delivery_row(page, came.webhook_id)
        expect(_cell(delivered, "State")).to_have_text("Delivered", timeout=UI_TIMEOUT_MS)
        expect(delivered.get_by_role("rowheader")).to_contain_text(f"COMMAND_RESULT #{came.seq}")
        expect(_cell(delivered, "Agent")).to_have_text("reporter")
        expect(_cell(delivered, "Attempts")).to_have_text("1")
        expect(_cell(delivered, "Last status")).to_have_text("200")
        expect(_cell(delivered, "Next attempt")).to_have_text("none")
        expect(page.get_by_text("1 delivery, newest first.")).to_be_visible()

        # A test event the endpoint refuses: pending, with its status, error and next try.
        receiver.answers["/hook"] = _answering(500)
        page.get_by_role("button", name="Send test event").click()
        status = page.get_by_role("status").filter(has_text="Test event queued")
        expect(status).to_be_visible(timeout=UI_TIMEOUT_MS)
        found = re.search(r"delivery (\S+)\.", status.inner_text())
        assert found, status.inner_text()
        test_id = found.group(1)
        failing = _delivery_row(page, test_id)
        expect(_cell(failing, "Last status")).to_have_text("500", timeout=UI_TIMEOUT_MS)
        expect(_cell(failing, "State")).to_have_text("Pending")
        expect(_cell(failing, "Attempts")).to_have_text("1")
        expect(_cell(failing, "Last error")).to_have_text("answered HTTP 500")
        expect(_cell(failing, "Next attempt")).to_contain_text(re.compile(r"\d"))
        expect(failing.get_by_role("rowheader")).to_contain_text("Test event (STATUS_UPDATE)")
        expect(page.get_by_text("2 deliveries, newest first.")).to_be_visible()
        shoot(page, "console-webhook-deliveries")
        assert accessibility_violations(page) == []
        page.get_by_label("Failed only").check()
        expect(page.get_by_text("No failed deliveries.")).to_be_visible(timeout=UI_TIMEOUT_MS)
        page.get_by_label("Failed only").uncheck()

        # Redelivered while the endpoint still refuses: its one retry spent, FAILED.
        failing.get_by_role("button", name=re.compile("^Redeliver")).click()
        expect(page.get_by_role("status").filter(has_text=f"Delivery {test_id}")).to_be_visible(
            timeout=UI_TIMEOUT_MS
        )
        expect(_cell(failing, "State")).to_have_text("Failed", timeout=UI_TIMEOUT_MS)
        expect(_cell(failing, "Attempts")).to_have_text("2")
        expect(_cell(failing, "Next attempt")).to_have_text("none")
        page.get_by_label("Failed only").check()
        expect(page.get_by_text("1 failed delivery, newest first.")).to_be_visible(
            timeout=UI_TIMEOUT_MS
        )
        expect(page.locator("tbody tr")).to_have_count(1)
        expect(_delivery_row(page, came.webhook_id)).to_have_count(0)
        shoot(page, "console-webhook-failed-only")

        # Redelivered once the endpoint answers: DELIVERED, with the same webhook-id.
        receiver.answers["/hook"] = _answering(200)
        failing.get_by_role("button", name=re.compile("^Redeliver")).click()
        expect(page.get_by_text("No failed deliveries.")).to_be_visible(timeout=UI_TIMEOUT_MS)
        page.get_by_label("Failed only").uncheck()
        expect(_cell(failing, "State")).to_have_text("Delivered", timeout=UI_TIMEOUT_MS)
        expect(_cell(failing, "Attempts")).to_have_text("3")
        expect(_cell(failing, "Last status")).to_have_text("200")
        test_event = receiver.at("/hook")[-1]
        assert test_event.webhook_id == test_id and test_event.body["data"]["data"]["test"] is True
        assert test_event.verified_by == [secret], test_event

        # Rotated: the new secret shown once; the next request carries both signatures.
        page.get_by_role("button", name="Rotate secret").click()
        expect(page.get_by_text("the old one keeps signing beside it for 24 hours")).to_be_visible()
        page.get_by_role("button", name="Yes, rotate").click()
        rotated = page.get_by_role("region", name="The new signing secret")
        expect(rotated).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(rotated).to_contain_text("it will not be shown again")
        expect(rotated).to_contain_text("The old secret keeps signing for 24 hours")
        new_secret = rotated.get_by_label("Signing secret").input_value()
        assert new_secret.startswith("whsec_") and new_secret != secret
        receiver.secrets.append(new_secret)
        shoot(page, "console-webhook-rotated")
        rotated.get_by_role("button", name="I have stored it: hide it").click()
        expect(rotated).to_have_count(0)
        page.get_by_role("button", name="Send test event").click()
        _eventually(page, lambda: len(receiver.at("/hook")) == 3, "the test event after rotation")
        assert sorted(receiver.at("/hook")[-1].verified_by) == sorted([secret, new_secret])

        # Replay: the agent's stored events of its type, queued again, counted.
        replay = page.get_by_role("region", name="Replay events")
        expect(replay.get_by_label("Agent")).to_have_value(reporter)
        replay.get_by_label("After seq").fill("0")
        replay.get_by_role("button", name="Replay").click()
        expect(replay.get_by_role("status")).to_have_text(
            "1 delivery queued: the events of reporter after seq 0.", timeout=UI_TIMEOUT_MS
        )
        _eventually(page, lambda: len(receiver.at("/hook")) == 4, "the replayed event")
        assert receiver.at("/hook")[-1].seq == came.seq
        assert receiver.at("/hook")[-1].webhook_id != came.webhook_id  # a new delivery
        expect(page.get_by_text("4 deliveries, newest first.")).to_be_visible(timeout=UI_TIMEOUT_MS)

        # Edited: another description, a second agent.
        page.get_by_role("button", name="Edit", exact=True).click()
        edit = page.get_by_role("region", name="Edit webhook")
        expect(edit.get_by_label("URL", exact=True)).to_have_value(hook)
        expect(edit.get_by_role("checkbox", name="Command results")).to_be_checked()
        expect(edit.get_by_role("checkbox", name="reporter", exact=True)).to_be_checked()
        edit.get_by_label("Description (optional)").fill("results of both")
        edit.get_by_role("checkbox", name="quiet", exact=True).check()
        edit.get_by_role("button", name="Save changes").click()
        expect(
            page.get_by_role("status").filter(has_text="Saved the webhook's settings.")
        ).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(_fact(page, "Description")).to_have_text("results of both")
        expect(_fact(page, "Agents")).to_contain_text("quiet")
        expect(_fact(page, "Agents")).to_contain_text("reporter")
        [edited] = _webhooks(served, token)
        assert edited["url"] == hook and len(edited["agents"]) == 2, edited

        # Switched off: a command queues nothing; switched on again.
        page.get_by_role("button", name="Switch off").click()
        expect(page.get_by_role("status").filter(has_text="Switched off")).to_be_visible(
            timeout=UI_TIMEOUT_MS
        )
        expect(_fact(page, "State")).to_have_text("Switched off")
        assert _webhooks(served, token)[0]["active"] is False
        before = len(_deliveries(served, token, stored["id"]))
        graphql(served, token, COMMAND, {"agentId": reporter, "command": "ping"})
        assert len(_deliveries(served, token, stored["id"])) == before
        shoot(page, "console-webhook-switched-off")
        page.get_by_role("button", name="Switch on").click()
        expect(_fact(page, "State")).to_have_text("Active", timeout=UI_TIMEOUT_MS)
        assert _webhooks(served, token)[0]["active"] is True

        # Deleted after a question: back to the list, empty.
        page.get_by_role("button", name=f"Delete webhook {hook}").click()
        expect(page.get_by_text("its deliveries are deleted with it")).to_be_visible()
        shoot(page, "console-webhook-delete-question")
        page.get_by_role("button", name="Yes, delete").click()
        expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible(
            timeout=UI_TIMEOUT_MS
        )
        expect(page.get_by_text("You have no webhooks yet")).to_be_visible(timeout=UI_TIMEOUT_MS)
        assert _webhooks(served, token) == []
    page_watch.check()
    context.close()
