"""The console's Schedules pages in a real Chromium against a real `kai serve`:

- a cron schedule made through the form: a cron expression the server refuses is said beside
  the cron field (BAD_USER_INPUT naming input.cron), which takes the focus, and nothing is
  made; a good one is listed with its timetable in its zone and its next run;
- on its page: paused (no next run) and resumed, run now (the task it started shows in its
  history and completes), edited, and deleted after a question (its task stays);
- a one-off schedule, its time entered as a wall time in another zone than the browser's,
  reaches the server as that instant;
- the list goes a page at a time with its totalCount, and can show one agent's schedules.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.browser import accessibility_violations, browser, served, shoot, watch
from tests.support.console import UI_TIMEOUT_MS, graphql, register, sign_in

__all__ = ["browser", "served"]  # fixtures

pytestmark = pytest.mark.slow

CREATE_AGENT = "mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }"
CREATE_SCHEDULE = """
mutation($input: ScheduleInput!) { createSchedule(input: $input) { id } }
"""
SCHEDULES = """
query($agentId: ID) {
  schedules(agentId: $agentId, first: 500) {
    totalCount
    edges { node { id name cron timezone runAt active nextRunAt lastRunAt } }
  }
}
"""
SCHEDULE_TASKS = """
query($id: ID!) {
  schedule(id: $id) { tasks { totalCount edges { node { id state schedule { id } } } } }
}
"""
TASK = "query($id: ID!) { task(id: $id) { id state schedule { id } } }"
BERLIN = ZoneInfo("Europe/Berlin")


def _open(browser: Any, url: str, **options: Any) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    page_watch = watch(context, url)
    return context.new_page(), page_watch


def _echo_agent(url: str, token: str, name: str) -> str:
    data = graphql(url, token, CREATE_AGENT, {"input": {"name": name, "type": "echo"}})
    return str(data["createAgent"]["id"])


def _schedules(url: str, token: str, agent_id: str | None = None) -> list[dict[str, Any]]:
    data = graphql(url, token, SCHEDULES, {"agentId": agent_id})["schedules"]
    return [edge["node"] for edge in data["edges"]]


def _at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _row(page: Any, name: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))


def _fact(page: Any, term: str) -> Any:
    """The <dd> of a fact on the schedule's page (dl.facts: each term and value in a div)."""
    return (
        page.locator("dl.facts > div").filter(has=page.get_by_text(term, exact=True)).locator("dd")
    )


def test_a_cron_schedule_is_made_paused_resumed_run_edited_and_deleted(
    browser: Any, served: str
) -> None:
    from playwright.sync_api import expect

    email = "schedules-cron@example.com"
    token = register(served, email)["accessToken"]
    agent_id = _echo_agent(served, token, "reporter")
    page, page_watch = _open(browser, served)
    sign_in(page, served, email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedules").click()
    expect(page.get_by_role("heading", name="Schedules", level=1)).to_be_visible()
    expect(page.get_by_text("You have no schedules yet")).to_be_visible(timeout=UI_TIMEOUT_MS)

    page.get_by_role("button", name="New schedule").click()
    form = page.get_by_role("region", name="New schedule")
    form.get_by_label("Agent", exact=True).select_option(agent_id)
    form.get_by_label("Name", exact=True).fill("weekday report")
    cron = form.get_by_label("Cron expression")
    cron.fill("99 9 * * 1-5")
    form.get_by_label("Time zone").fill("Europe/Berlin")
    expect(form.get_by_label("Task type")).to_have_value("echo")
    form.get_by_label("Payload (JSON)").fill('{"steps": 1, "stepSeconds": 0}')
    form.get_by_role("button", name="Create schedule").click()

    # The server refused the cron (BAD_USER_INPUT, field input.cron): said at the field.
    expect(cron).to_have_attribute("aria-invalid", "true", timeout=UI_TIMEOUT_MS)
    expect(cron).to_have_accessible_description(
        re.compile(r"Not a valid cron expression: \[99 9 \* \* 1-5\] is not acceptable")
    )
    expect(cron).to_be_focused()
    expect(form.get_by_text("Correct the values marked above.")).to_be_visible()
    expect(form.get_by_label("Time zone")).not_to_have_attribute("aria-invalid", "true")
    shoot(page, "console-schedules-refused-cron")
    assert accessibility_violations(page) == []
    assert _schedules(served, token) == []

    cron.fill("0 9 * * 1-5")
    expect(cron).not_to_have_attribute("aria-invalid", "true")
    form.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_text("Schedule weekday report created.")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    [stored] = _schedules(served, token)
    assert stored["cron"] == "0 9 * * 1-5" and stored["timezone"] == "Europe/Berlin", stored
    assert stored["active"] is True and stored["lastRunAt"] is None, stored
    next_run = _at(stored["nextRunAt"]).astimezone(BERLIN)
    assert (next_run.hour, next_run.minute, next_run.isoweekday() <= 5) == (9, 0, True)

    # Listed with its timetable in its zone and its next run (09:00 in Berlin).
    expect(page.get_by_text("1 schedule of all your agents", exact=True)).to_be_visible()
    row = _row(page, "weekday report")
    expect(row).to_contain_text("0 9 * * 1-5 in Europe/Berlin")
    expect(row.locator('[data-label="Agent"]')).to_have_text("reporter")
    expect(row.locator('[data-label="Next run"]')).to_contain_text("09:00")
    expect(row.locator('[data-label="Next run"]')).to_contain_text(str(next_run.year))
    expect(row.locator('[data-label="Last run"]')).to_have_text("never")
    expect(row.locator('[data-label="Active"]')).to_have_text("Active")
    shoot(page, "console-schedules-list")
    assert accessibility_violations(page) == []

    # Its page: the timetable, the template, no history yet.
    row.get_by_role("link", name="weekday report").click()
    expect(page.get_by_role("heading", name="Schedule weekday report", level=1)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    assert page.url.endswith(f"/schedules/{stored['id']}")
    expect(_fact(page, "Timetable (cron)")).to_have_text("0 9 * * 1-5")
    expect(_fact(page, "Time zone")).to_have_text("Europe/Berlin")
    expect(_fact(page, "Next run")).to_contain_text("09:00")
    expect(_fact(page, "Type")).to_have_text("echo")
    expect(page.get_by_text("It has started no task yet.")).to_be_visible()
    # The page it is on is Schedules, not Agents.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Schedules")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Agents")).not_to_have_attribute("aria-current", "page")

    # Paused: no next run; resumed: one again.
    page.get_by_role("button", name="Pause", exact=True).click()
    status = page.get_by_role("status").filter(has_text="Paused")
    expect(status).to_have_text("Paused: nothing runs until it is resumed.", timeout=UI_TIMEOUT_MS)
    expect(_fact(page, "Next run")).to_have_text("None: paused", timeout=UI_TIMEOUT_MS)
    expect(_fact(page, "State")).to_have_text("Paused")
    [paused] = _schedules(served, token)
    assert paused["active"] is False and paused["nextRunAt"] is None, paused
    shoot(page, "console-schedule-paused")
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Resumed: next run")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    expect(_fact(page, "State")).to_have_text("Active", timeout=UI_TIMEOUT_MS)
    expect(_fact(page, "Next run")).to_contain_text("09:00")
    [resumed] = _schedules(served, token)
    assert resumed["active"] is True and resumed["nextRunAt"] is not None, resumed

    # Run now: the task it started is in its history, followed live to its end.
    page.get_by_role("button", name="Run now").click()
    started = page.get_by_role("status").filter(has_text=re.compile(r"^Started echo task"))
    expect(started).to_be_visible(timeout=UI_TIMEOUT_MS)
    found = re.search(r"Started echo task (\S+)\.", started.inner_text())
    assert found, started.inner_text()
    task_id = found.group(1)
    history = page.get_by_role("list", name="tasks started by schedule weekday report")
    card = history.get_by_role("listitem").filter(has_text=task_id)
    expect(card).to_contain_text("Completed", timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("1 task started by this schedule, newest first.")).to_be_visible()
    expect(_fact(page, "Last run")).not_to_have_text("never")
    tasks = graphql(served, token, SCHEDULE_TASKS, {"id": stored["id"]})["schedule"]["tasks"]
    assert tasks["totalCount"] == 1, tasks
    assert tasks["edges"][0]["node"] == {
        "id": task_id,
        "state": "COMPLETED",
        "schedule": {"id": stored["id"]},
    }
    shoot(page, "console-schedule-history")
    assert accessibility_violations(page) == []

    # Edited: a new name and timetable.
    page.get_by_role("button", name="Edit", exact=True).click()
    edit = page.get_by_role("region", name="Edit schedule weekday report")
    expect(edit.get_by_label("Cron expression")).to_have_value("0 9 * * 1-5")
    payload = edit.get_by_label("Payload (JSON)").input_value()
    assert json.loads(payload) == {"steps": 1, "stepSeconds": 0}, payload
    assert accessibility_violations(page) == []
    edit.get_by_label("Name", exact=True).fill("morning report")
    edit.get_by_label("Cron expression").fill("30 7 * * *")
    edit.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="Schedule morning report", level=1)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    expect(
        page.get_by_role("status").filter(has_text="Saved schedule morning report.")
    ).to_be_visible()
    expect(_fact(page, "Timetable (cron)")).to_have_text("30 7 * * *")
    expect(_fact(page, "Next run")).to_contain_text("07:30")
    [edited] = _schedules(served, token)
    assert (edited["name"], edited["cron"]) == ("morning report", "30 7 * * *"), edited

    # Deleted after a question: back to the list, empty; the task it started stays.
    page.get_by_role("button", name="Delete schedule morning report").click()
    expect(
        page.get_by_text("It starts no more tasks; those it started keep running.")
    ).to_be_visible()
    shoot(page, "console-schedule-delete-question")
    page.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("heading", name="Schedules", level=1)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    expect(page.get_by_text("You have no schedules yet")).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert _schedules(served, token) == []
    task = graphql(served, token, TASK, {"id": task_id})["task"]
    assert task == {"id": task_id, "state": "COMPLETED", "schedule": None}, task
    page_watch.check()
    page.context.close()


def test_a_one_off_time_is_read_in_the_chosen_zone(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    email = "schedules-once@example.com"
    token = register(served, email)["accessToken"]
    agent_id = _echo_agent(served, token, "once-runner")
    # The browser is in New York; the time is entered for Tokyo.
    page, page_watch = _open(browser, served, timezone_id="America/New_York", locale="en-GB")
    sign_in(page, served, email)
    page.goto(f"{served}/schedules?agent={agent_id}")
    page.get_by_role("button", name="New schedule").click()
    form = page.get_by_role("region", name="New schedule")
    expect(form.get_by_label("Agent", exact=True)).to_have_value(agent_id)
    expect(form.get_by_label("Time zone")).to_have_value("America/New_York")
    form.get_by_label("Name", exact=True).fill("new year")
    form.get_by_label("Once").check()
    when = datetime.now(UTC).year + 1
    form.get_by_label("Run at").fill(f"{when}-01-01T00:05")
    form.get_by_label("Time zone").fill("Asia/Tokyo")
    form.get_by_label("Active").uncheck()
    form.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_text("Schedule new year created.")).to_be_visible(timeout=UI_TIMEOUT_MS)

    [stored] = _schedules(served, token, agent_id)
    wanted = datetime(when, 1, 1, 0, 5, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert _at(stored["runAt"]) == wanted, stored
    assert stored["cron"] is None and stored["timezone"] == "Asia/Tokyo", stored
    assert stored["active"] is False and stored["nextRunAt"] is None, stored
    row = _row(page, "new year")
    expect(row.locator('[data-label="When"]')).to_contain_text(re.compile(rf"^Once, 1 Jan {when}"))
    expect(row.locator('[data-label="When"]')).to_contain_text("00:05")
    expect(row.locator('[data-label="When"]')).to_contain_text("(Asia/Tokyo)")
    expect(row.locator('[data-label="Next run"]')).to_have_text("None: paused")
    expect(row.locator('[data-label="Active"]')).to_have_text("Paused")

    # Its page's form shows the same wall time in the same zone.
    row.get_by_role("link", name="new year").click()
    page.get_by_role("button", name="Edit", exact=True).click()
    edit = page.get_by_role("region", name="Edit schedule new year")
    expect(edit.get_by_label("Once")).to_be_checked()
    expect(edit.get_by_label("Run at")).to_have_value(f"{when}-01-01T00:05")
    expect(edit.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    page_watch.check()
    page.context.close()


def test_the_list_goes_a_page_at_a_time_and_by_agent(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    email = "schedules-many@example.com"
    token = register(served, email)["accessToken"]
    busy = _echo_agent(served, token, "busy")
    quiet = _echo_agent(served, token, "quiet")
    task = {"type": "echo", "payload": {"steps": 1}}
    for number in range(21):
        graphql(
            served,
            token,
            CREATE_SCHEDULE,
            {
                "input": {
                    "agentId": busy,
                    "name": f"busy {number}",
                    "cron": "0 3 * * *",
                    "task": task,
                }
            },
        )
    soon = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    graphql(
        served,
        token,
        CREATE_SCHEDULE,
        {
            "input": {
                "agentId": quiet,
                "name": "quiet once",
                "runAt": soon.isoformat(),
                "task": task,
            }
        },
    )
    page, page_watch = _open(browser, served)
    sign_in(page, served, email)
    page.goto(f"{served}/schedules")
    expect(page.get_by_text("22 schedules of all your agents", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(20)
    # Newest first: the one-off, made last, leads.
    expect(rows.first).to_contain_text("quiet once")
    pages = page.get_by_role("navigation", name="Pages of schedules of all your agents")
    expect(pages).to_contain_text("Page 1 of 2 (1–20 of 22)")
    pages.get_by_role("button", name="Older schedules of all your agents").click()
    expect(pages).to_contain_text("Page 2 of 2 (21–22 of 22)", timeout=UI_TIMEOUT_MS)
    expect(rows).to_have_count(2)
    expect(rows.last).to_contain_text("busy 0")

    page.get_by_label("Of agent").select_option(label="quiet")
    expect(page.get_by_text("1 schedule of quiet", exact=True)).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(rows).to_have_count(1)
    expect(pages).to_have_count(0)
    assert page.url.endswith(f"/schedules?agent={quiet}")
    page_watch.check()
    page.context.close()
