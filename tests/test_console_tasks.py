"""The console's Tasks page in a real Chromium against a real `kai serve`: a task queued from the
form shows a progress bar that moves live (taskUpdates) and ends full with its state in words;
another is cancelled from the keyboard through the confirmation; a payload that is not JSON is
stopped in the page, and the server's refusal (an idempotency key used for another agent)
reaches the reader in words. The list of all tasks is filtered (agent, state) and sorted by the
server, says how many there are, goes a page at a time, and each card says its retries,
timeout and when a delayed task is due. The page works at a phone's width with no serious
accessibility finding."""

from __future__ import annotations

import re
import time
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
from tests.support.console import UI_TIMEOUT_MS, graphql, register, sign_in

__all__ = ["browser", "served"]  # fixtures

pytestmark = pytest.mark.slow

CREATE_AGENT = """
mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }
"""
TASK = "query($id: ID!) { task(id: $id) { id state progress attempts result } }"
AGENT_TASKS = "query($id: ID!) { agent(id: $id) { tasks { edges { node { id state } } } } }"
STOP = "mutation($id: ID!) { stopAgent(id: $id) { state } }"
ENQUEUE = """
mutation($id: ID!, $input: TaskInput!) { enqueueTask(agentId: $id, input: $input) { id } }
"""
COUNT = "query($filter: TaskFilter) { tasks(filter: $filter) { totalCount } }"


def _open(browser: Any, url: str, width: int = 1280) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page_watch = watch(context, url)
    return context.new_page(), page_watch


def _echo_agent(url: str, token: str, name: str) -> str:
    data = graphql(url, token, CREATE_AGENT, {"input": {"name": name, "type": "echo"}})
    return str(data["createAgent"]["id"])


def _queue(page: Any, payload: str) -> str:
    """Queues a task with `payload` from the page's form; returns the id the page reports."""
    from playwright.sync_api import expect

    page.get_by_label("Payload (JSON)").fill(payload)
    page.get_by_role("button", name="Queue task").click()
    status = page.get_by_role("status").filter(has_text=re.compile(r"Queued echo task"))
    expect(status).to_be_visible(timeout=UI_TIMEOUT_MS)
    found = re.search(r"Queued echo task (\S+)\.", status.inner_text())
    assert found, status.inner_text()
    return found.group(1)


def _session_item(page: Any, task_id: str) -> Any:
    region = page.get_by_role("region", name="Queued from this tab")
    return region.get_by_role("listitem").filter(has_text=task_id)


def test_a_queued_task_shows_live_progress_to_full_and_another_is_cancelled(
    browser: Any, served: str
) -> None:
    from playwright.sync_api import expect

    email = "tasks-progress@example.com"
    token = register(served, email)["accessToken"]
    agent_id = _echo_agent(served, token, "runner")
    page, page_watch = _open(browser, served)
    sign_in(page, served, email)
    page.goto(f"{served}/tasks?agent={agent_id}")
    expect(page.get_by_role("heading", name="Queue a task for runner")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    expect(page.get_by_label("Task type")).to_have_value("echo")

    # Six reports, a second apart: the bar must show one between empty and full, and the
    # task still running after it (with 0.5 s apart, some 2.5 s were left for both).
    task_id = _queue(page, '{"steps": 6, "stepSeconds": 1}')
    item = _session_item(page, task_id)
    bar = item.get_by_role("progressbar", name=f"Progress of task {task_id}")
    expect(bar).to_be_visible()
    page.wait_for_function(
        "(bar) => bar.value > 0 && bar.value < 1", arg=bar.element_handle(), timeout=UI_TIMEOUT_MS
    )
    expect(item).to_contain_text("Running")
    shoot(page, "console-tasks-progress")
    page.wait_for_function("(bar) => bar.value === 1", arg=bar.element_handle(), timeout=30_000)
    expect(item).to_contain_text("Completed", timeout=UI_TIMEOUT_MS)
    expect(item).to_contain_text("100 %")
    done = graphql(served, token, TASK, {"id": task_id})["task"]
    assert done["state"] == "COMPLETED" and done["progress"] == 1, done
    assert done["result"] == {"steps": 6, "stepSeconds": 1}, done
    # The agent's own list has it too (refetched once the form queued it).
    agent_list = page.get_by_role("region", name="Tasks of runner")
    expect(agent_list.get_by_role("listitem").filter(has_text=task_id)).to_contain_text(
        "Completed", timeout=UI_TIMEOUT_MS
    )
    # A finished task offers no cancel.
    expect(item.get_by_role("button", name=re.compile("^Cancel task"))).to_have_count(0)

    # A long one, cancelled from the keyboard: the first press asks, the focus moves to
    # the confirming button, Enter confirms.
    long_id = _queue(page, '{"steps": 600, "stepSeconds": 0.5}')
    long_item = _session_item(page, long_id)
    expect(long_item).to_contain_text("Running", timeout=UI_TIMEOUT_MS)
    cancel = long_item.get_by_role("button", name=f"Cancel task {long_id}")
    cancel.focus()
    page.keyboard.press("Enter")
    confirm = long_item.get_by_role("button", name="Yes, cancel the task")
    expect(confirm).to_be_focused()
    expect(long_item).to_contain_text("It is interrupted where it is")
    # Backing out is said as what it does (not a second "Cancel"): Escape does it too.
    page.keyboard.press("Escape")
    expect(cancel).to_be_focused()
    expect(long_item.get_by_role("button", name="No, keep it")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(long_item.get_by_role("button", name="No, keep it")).to_be_visible()
    expect(confirm).to_be_focused()
    shoot(page, "console-tasks-cancel-question")
    page.keyboard.press("Enter")
    expect(long_item).to_contain_text("Cancelled", timeout=UI_TIMEOUT_MS)
    cancelled = graphql(served, token, TASK, {"id": long_id})["task"]
    assert cancelled["state"] == "CANCELLED", cancelled
    assert cancelled["progress"] is None or cancelled["progress"] < 1, cancelled
    shoot(page, "console-tasks-cancelled")

    # A reload keeps the tasks queued from this tab, in their last state.
    page.reload()
    expect(_session_item(page, task_id)).to_contain_text("Completed", timeout=UI_TIMEOUT_MS)
    expect(_session_item(page, long_id)).to_contain_text("Cancelled")
    assert accessibility_violations(page) == []
    page_watch.check()
    page.context.close()


def test_bad_values_are_stopped_and_server_refusals_are_in_words(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    email = "tasks-refusals@example.com"
    token = register(served, email)["accessToken"]
    first = _echo_agent(served, token, "first")
    second = _echo_agent(served, token, "second")
    page, page_watch = _open(browser, served)
    sign_in(page, served, email)
    page.goto(f"{served}/tasks?agent={first}")
    expect(page.get_by_role("heading", name="Queue a task for first")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )

    # Not JSON, and a priority out of range: said in the page, nothing sent.
    page.get_by_label("Payload (JSON)").fill('{"steps": ')
    expect(page.get_by_text(re.compile("^Not valid JSON"))).to_be_visible()
    page.get_by_label("Priority").fill("5000")
    page.get_by_role("button", name="Queue task").click()
    expect(page.get_by_text("Correct the values marked above.")).to_be_visible()
    expect(page.get_by_text("Enter a number from -1000 to 1000.")).to_be_visible()
    assert page.get_by_label("Priority").get_attribute("aria-invalid") == "true"
    shoot(page, "console-tasks-invalid")
    assert graphql(served, token, AGENT_TASKS, {"id": first})["agent"]["tasks"]["edges"] == []

    # An idempotency key first used for one agent, then sent for another: CONFLICT, in words.
    page.get_by_label("Priority").fill("0")
    page.get_by_label("Idempotency key (optional)").fill("nightly-report")
    _queue(page, '{"steps": 1}')
    page.get_by_label("Agent", exact=True).select_option(second)
    expect(page.get_by_role("heading", name="Queue a task for second")).to_be_visible()
    page.get_by_label("Idempotency key (optional)").fill("nightly-report")
    page.get_by_role("button", name="Queue task").click()
    alert = page.get_by_role("alert").filter(has_text="conflicts with the current state")
    expect(alert).to_be_visible(timeout=UI_TIMEOUT_MS)
    shoot(page, "console-tasks-conflict")
    assert graphql(served, token, AGENT_TASKS, {"id": second})["agent"]["tasks"]["edges"] == []
    page_watch.check()
    page.context.close()


def test_the_tasks_page_fits_a_phone(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    email = "tasks-phone@example.com"
    token = register(served, email)["accessToken"]
    agent_id = _echo_agent(served, token, "pocket")
    page, page_watch = _open(browser, served, width=360)
    sign_in(page, served, email)
    page.goto(f"{served}/tasks?agent={agent_id}")
    task_id = _queue(page, '{"steps": 2, "stepSeconds": 0.1}')
    expect(_session_item(page, task_id)).to_contain_text("Completed", timeout=UI_TIMEOUT_MS)
    assert not overflows_horizontally(page)
    shoot(page, "console-tasks-phone")
    page_watch.check()
    page.context.close()


def test_all_tasks_are_filtered_sorted_and_paged_by_the_server(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    email = "tasks-many@example.com"
    token = register(served, email)["accessToken"]
    busy = _echo_agent(served, token, "busy")
    idle = _echo_agent(served, token, "idle")
    graphql(served, token, STOP, {"id": idle})
    quick = {"type": "echo", "payload": {"steps": 1, "stepSeconds": 0}}
    for _ in range(22):
        graphql(served, token, ENQUEUE, {"id": busy, "input": quick})
    for priority in (0, 1):
        graphql(served, token, ENQUEUE, {"id": idle, "input": {**quick, "priority": priority}})
    delayed = {**quick, "priority": 5, "retries": 2, "timeoutSeconds": 30, "delaySeconds": 3600}
    queued = graphql(served, token, ENQUEUE, {"id": idle, "input": delayed})
    delayed_id = queued["enqueueTask"]["id"]
    done = {"filter": {"agentId": busy, "states": ["COMPLETED"]}}
    deadline = time.monotonic() + 30
    while graphql(served, token, COUNT, done)["tasks"]["totalCount"] < 22:
        assert time.monotonic() < deadline, "the echo tasks did not complete"
        time.sleep(0.2)

    page, page_watch = _open(browser, served)
    sign_in(page, served, email)
    page.goto(f"{served}/tasks")
    region = page.get_by_role("region", name="Tasks of all your agents")
    cards = region.get_by_role("list", name="tasks of all your agents").get_by_role("listitem")
    pages = region.get_by_role("navigation", name="Pages of tasks of all your agents")
    expect(region.get_by_text("25 tasks in all", exact=True)).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(cards).to_have_count(20)
    # Newest first: the delayed task, queued last, leads.
    expect(cards.first).to_contain_text(delayed_id)
    expect(pages).to_contain_text("Page 1 of 2 (1–20 of 25)")
    pages.get_by_role("button", name="Older tasks of all your agents").click()
    expect(pages).to_contain_text("Page 2 of 2 (21–25 of 25)", timeout=UI_TIMEOUT_MS)
    expect(cards).to_have_count(5)
    for card in cards.all():
        expect(card).to_contain_text("agent busy")
        expect(card).to_contain_text("Completed")

    # Those waiting to run: the stopped agent's three, the delayed one saying when it is due.
    region.get_by_label("Show").select_option(label="Waiting to run")
    expect(region.get_by_text("3 tasks waiting to run", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    expect(cards).to_have_count(3)
    expect(pages).to_have_count(0)
    for card in cards.all():
        expect(card).to_contain_text("agent idle")
    card = cards.filter(has_text=delayed_id)
    expect(card).to_contain_text("no attempt yet (2 retries allowed)")
    expect(card).to_contain_text(re.compile(r"Timeout\s*30 seconds"))
    expect(card).to_contain_text("Not before")
    # The server's default timeout, which it reads back for tasks queued without one.
    expect(cards.filter(has_text="priority 0")).to_contain_text(re.compile(r"Timeout\s*1 hour"))
    expect(cards.filter(has_text="priority 0")).not_to_contain_text("Not before")
    region.get_by_label("Order").select_option(label="Lowest priority first")
    expect(cards.first).to_contain_text("priority 0", timeout=UI_TIMEOUT_MS)
    expect(cards.last).to_contain_text(delayed_id)
    region.get_by_label("Order").select_option(label="Highest priority first")
    expect(cards.first).to_contain_text(delayed_id, timeout=UI_TIMEOUT_MS)
    shoot(page, "console-tasks-waiting")

    # One agent's tasks.
    region.get_by_label("Show").select_option(label="All tasks")
    region.get_by_label("Of agent").select_option(label="busy")
    busy_region = page.get_by_role("region", name="Tasks of busy")
    expect(busy_region.get_by_text("22 tasks in all", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    busy_pages = busy_region.get_by_role("navigation", name="Pages of tasks of busy")
    expect(busy_pages).to_contain_text("Page 1 of 2 (1–20 of 22)")
    busy_pages.get_by_role("button", name="Next page of tasks of busy").click()
    expect(busy_pages).to_contain_text("Page 2 of 2 (21–22 of 22)", timeout=UI_TIMEOUT_MS)
    assert accessibility_violations(page) == []
    page_watch.check()
    page.context.close()
