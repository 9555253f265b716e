"""The console's approvals in a real Chromium against a real `kai serve`, for an echo agent
whose approval policy holds the command `deploy` and the task type `echo`:

- the inbox lists what was waiting before it opened, and a request made while it is open
  arrives live (approvalRequests over the console's socket), the navigation counting both;
  each shows its agent, kind, what would run, who asked and when it expires;
- approved there, the task runs to COMPLETED; a command rejected there with a reason never
  runs, and ends failed saying why; both are under Decided, with who decided and why;
- a decision someone made first, in another browser or straight through the API, makes the
  page's own one CONFLICT: said in words (who decided, how), and the list read again; so
  does one made after the approval's time ran out (it expired);
- the agent page shows the policy and edits it (a name the server refuses is said beside its
  field); a command sent there that waits says so, and links to its approval, decided on its
  page; a task that waits links to its approval from the agent page, and rejected there it
  ends CANCELLED with the reason as its error; an approval's page shows what came of the
  work it held (the command's result, the task's state to the end).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.browser import accessibility_violations, browser, served, shoot, watch
from tests.support.console import UI_TIMEOUT_MS, graphql, register, sign_in

__all__ = ["browser", "served"]  # fixtures

pytestmark = pytest.mark.slow

ADMIN = "approvals-admin@example.com"
POLICY = {"commands": ["deploy"], "taskTypes": ["echo"], "timeoutSeconds": 600}
CREATE_AGENT = "mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }"
AGENT = """
query($id: ID!) {
  agent(id: $id) { state approvalPolicy { commands taskTypes timeoutSeconds } }
}
"""
SEND = """
mutation($agentId: ID!, $command: AgentCommandInput!, $key: String) {
  sendCommand(agentId: $agentId, command: $command, idempotencyKey: $key) {
    success error approval { id state }
  }
}
"""
ENQUEUE = """
mutation($agentId: ID!, $input: TaskInput!) {
  enqueueTask(agentId: $agentId, input: $input) { id state approval { id } }
}
"""
TASK = "query($id: ID!) { task(id: $id) { state error } }"
UPDATE_POLICY = """
mutation($id: ID!, $policy: ApprovalPolicyInput!) {
  updateAgent(id: $id, input: {approvalPolicy: $policy}) { id }
}
"""
DECIDE = """
mutation($id: ID!, $approve: Boolean!, $reason: String) {
  decideApproval(id: $id, approve: $approve, reason: $reason) { state }
}
"""
APPROVAL = "query($id: ID!) { approval(id: $id) { state reason decidedBy { email } } }"
ECHO = {"type": "echo", "payload": {"steps": 1, "stepSeconds": 0}}


@pytest.fixture(scope="module")
def admin_token(served: str) -> str:
    """The server's first account (ADMIN, who sees and may decide every approval): the
    people of the tests below are USERs."""
    payload = register(served, ADMIN, display_name="Grace")
    assert payload["user"]["role"] == "ADMIN", payload
    return str(payload["accessToken"])


def _eventually(page: Any, check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """What `check()` answers once truthy, waiting through Playwright (the watch's route
    handler lets the page's requests through only while Playwright runs)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)
    return found


def _open(browser: Any, url: str) -> tuple[Any, Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page_watch = watch(context, url)
    return context, context.new_page(), page_watch


def _gated_agent(page: Any, url: str, token: str, name: str) -> str:
    """A running echo agent under POLICY."""
    input = {"name": name, "type": "echo", "approvalPolicy": POLICY}
    agent_id = str(graphql(url, token, CREATE_AGENT, {"input": input})["createAgent"]["id"])
    _eventually(
        page,
        lambda: graphql(url, token, AGENT, {"id": agent_id})["agent"]["state"] == "RUNNING",
        f"agent {name} to run",
    )
    return agent_id


def _send(url: str, token: str, agent_id: str, command: str, key: str) -> dict[str, Any]:
    variables = {"agentId": agent_id, "command": {"command": command, "params": {"v": 7}}}
    return dict(graphql(url, token, SEND, {**variables, "key": key})["sendCommand"])


def _enqueue(url: str, token: str, agent_id: str) -> dict[str, Any]:
    return dict(graphql(url, token, ENQUEUE, {"agentId": agent_id, "input": ECHO})["enqueueTask"])


def _root(scope: Any) -> Any:
    """The page of a locator (a `has=` locator is looked for inside the outer one, from its
    page's root)."""
    return getattr(scope, "page", scope)


def _card(scope: Any, title: str) -> Any:
    heading = _root(scope).get_by_role("heading", name=title, exact=True)
    return scope.get_by_role("listitem").filter(has=heading)


def _inbox(page: Any) -> Any:
    return page.get_by_role("region", name="Waiting for a decision")


def _nav_approvals(page: Any) -> Any:
    return page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile(r"^Approvals")
    )


def _fact(scope: Any, term: str) -> Any:
    """The <dd> of a fact (dl.facts: each term and value in a div)."""
    term_text = _root(scope).get_by_text(term, exact=True)
    return scope.locator("dl.facts > div").filter(has=term_text).locator("dd")


def _task_state(url: str, token: str, task_id: str) -> dict[str, Any]:
    return dict(graphql(url, token, TASK, {"id": task_id})["task"])


def test_requests_arrive_live_and_are_approved_and_rejected(
    browser: Any, served: str, admin_token: str
) -> None:
    from playwright.sync_api import expect

    email = "approver@example.com"
    token = register(served, email)["accessToken"]
    context, page, page_watch = _open(browser, served)
    agent_id = _gated_agent(page, served, token, "gated")
    # Asked before the inbox opens: listed from the approvals query.
    held = _send(served, token, agent_id, "deploy", "deploy-7")
    assert held["success"] is False and held["approval"]["state"] == "PENDING", held

    sign_in(page, served, email)
    expect(_nav_approvals(page)).to_have_accessible_name(
        "Approvals 1 waiting", timeout=UI_TIMEOUT_MS
    )
    _nav_approvals(page).click()
    expect(page.get_by_role("heading", name="Approvals", level=1)).to_be_visible()
    inbox = _inbox(page)
    command = _card(inbox, "Command deploy on agent gated")
    expect(command).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(command).to_contain_text("Waiting for a decision")
    expect(command.locator("dl.values")).to_contain_text("v")
    expect(command.locator("dl.values")).to_contain_text("7")
    expect(_fact(command, "Asked by")).to_have_text("you")
    expect(_fact(command, "Expires")).to_contain_text("(in 10 minutes)")
    expect(inbox.get_by_text("1 approval of your agents waiting")).to_be_visible()

    # Asked while the page is open: it arrives live, on top, and the count follows.
    task = _enqueue(served, token, agent_id)
    assert task["state"] == "AWAITING_APPROVAL", task
    queued = _card(inbox, "Task echo on agent gated")
    expect(queued).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(inbox.get_by_role("listitem").first).to_contain_text("Task echo on agent gated")
    expect(_fact(queued, "Task type")).to_have_text("echo")
    expect(queued.locator("dl.values")).to_contain_text("steps")
    expect(inbox.get_by_text("2 approvals of your agents waiting")).to_be_visible()
    expect(_nav_approvals(page)).to_have_accessible_name(
        "Approvals 2 waiting", timeout=UI_TIMEOUT_MS
    )
    shoot(page, "console-approvals-inbox")
    assert accessibility_violations(page) == []

    # Approved: the card leaves, and the task runs to its end.
    queued.get_by_label("Reason (optional)").fill("go ahead")
    queued.get_by_role("button", name="Approve Task echo on agent gated").click()
    expect(page.get_by_role("status").filter(has_text="Approved task echo")).to_contain_text(
        "Approved task echo on agent gated: “go ahead”.", timeout=UI_TIMEOUT_MS
    )
    expect(queued).to_have_count(0)
    _eventually(
        page,
        lambda: _task_state(served, token, task["id"])["state"] == "COMPLETED",
        "the approved task to complete",
    )

    # Rejected with a reason: the command never runs, and ends failed saying why.
    command.get_by_label("Reason (optional)").fill("not on a Friday")
    command.get_by_role("button", name="Reject Command deploy on agent gated").click()
    expect(page.get_by_role("status").filter(has_text="Rejected")).to_contain_text(
        "Rejected command deploy on agent gated: “not on a Friday”.", timeout=UI_TIMEOUT_MS
    )
    expect(inbox.get_by_text("Nothing waits for a decision.")).to_be_visible()
    expect(_nav_approvals(page)).to_have_accessible_name("Approvals", timeout=UI_TIMEOUT_MS)
    again = _send(served, token, agent_id, "deploy", "deploy-7")
    assert again["success"] is False and "not on a Friday" in (again["error"] or ""), again

    # Both under Decided: how, by whom and why.
    page.get_by_role("link", name="Decided", exact=True).click()
    decided = page.get_by_role("region", name="Decided")
    expect(decided.get_by_text("2 approvals of your agents decided or expired")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    approved = _card(decided, "Task echo on agent gated")
    expect(_fact(approved, "Decision")).to_have_text("Approved by you")
    expect(approved).to_contain_text("go ahead")
    rejected = _card(decided, "Command deploy on agent gated")
    expect(rejected).to_contain_text("Rejected by you")
    expect(rejected).to_contain_text("not on a Friday")
    expect(rejected.get_by_role("button")).to_have_count(0)
    shoot(page, "console-approvals-decided")
    assert accessibility_violations(page) == []
    page_watch.check()
    context.close()


def test_a_decision_made_first_elsewhere_is_a_conflict_said_in_words(
    browser: Any, served: str, admin_token: str
) -> None:
    from playwright.sync_api import expect

    email = "second@example.com"
    token = register(served, email)["accessToken"]
    first, page, page_watch = _open(browser, served)
    agent_id = _gated_agent(page, served, token, "contested")
    task = _enqueue(served, token, agent_id)
    sign_in(page, served, email)
    page.goto(f"{served}/approvals?agent={agent_id}")
    inbox = _inbox(page)
    queued = _card(inbox, "Task echo on agent contested")
    expect(queued).to_be_visible(timeout=UI_TIMEOUT_MS)

    # Another browser of the same person decides first.
    second, other, other_watch = _open(browser, served)
    sign_in(other, served, email)
    other.goto(f"{served}/approvals")
    theirs = _card(_inbox(other), "Task echo on agent contested")
    theirs.get_by_label("Reason (optional)").fill("I had it")
    theirs.get_by_role("button", name=re.compile("^Reject")).click()
    expect(other.get_by_role("status").filter(has_text="Rejected")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )

    # This page's Approve comes second: CONFLICT, in words, and the list read again.
    queued.get_by_role("button", name=re.compile("^Approve")).click()
    alert = inbox.get_by_role("alert")
    expect(alert).to_contain_text(
        "Task echo on agent contested was not decided: it had already been decided. "
        "Rejected by you (“I had it”). The list has been read again.",
        timeout=UI_TIMEOUT_MS,
    )
    expect(alert).to_be_focused()
    expect(queued).to_have_count(0)
    expect(inbox.get_by_text("Nothing waits for a decision.")).to_be_visible()
    assert _task_state(served, token, task["id"]) == {
        "state": "CANCELLED",
        "error": "Approval rejected: I had it",
    }
    shoot(page, "console-approvals-conflict")
    assert accessibility_violations(page) == []

    # Straight through the API, by an ADMIN: a command approved before the page's Reject.
    held = _send(served, token, agent_id, "deploy", "contested-1")
    command = _card(inbox, "Command deploy on agent contested")
    expect(command).to_be_visible(timeout=UI_TIMEOUT_MS)
    graphql(served, admin_token, DECIDE, {"id": held["approval"]["id"], "approve": True})
    command.get_by_role("button", name=re.compile("^Reject")).click()
    expect(inbox.get_by_role("alert")).to_contain_text(
        "it had already been decided. Approved by Grace (approvals-admin@example.com).",
        timeout=UI_TIMEOUT_MS,
    )
    approval = graphql(served, token, APPROVAL, {"id": held["approval"]["id"]})["approval"]
    assert approval == {"state": "APPROVED", "reason": None, "decidedBy": {"email": ADMIN}}

    # An approval whose time ran out while the page showed it: said so, not decided.
    graphql(
        served, token, UPDATE_POLICY, {"id": agent_id, "policy": {**POLICY, "timeoutSeconds": 2}}
    )
    hasty = _enqueue(served, token, agent_id)
    late = _card(inbox, "Task echo on agent contested")
    expect(late).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.wait_for_timeout(3000)
    late.get_by_role("button", name=re.compile("^Approve")).click()
    expect(inbox.get_by_role("alert")).to_contain_text(
        "Task echo on agent contested was not decided: its time ran out first, and it expired.",
        timeout=UI_TIMEOUT_MS,
    )
    _eventually(
        page,
        lambda: _task_state(served, token, hasty["id"])["state"] == "CANCELLED",
        "the expired approval's task to be cancelled",
    )
    page_watch.check()
    other_watch.check()
    first.close()
    second.close()


def test_the_agent_page_edits_the_policy_and_links_what_waits(
    browser: Any, served: str, admin_token: str
) -> None:
    from playwright.sync_api import expect

    email = "policy@example.com"
    token = register(served, email)["accessToken"]
    context, page, page_watch = _open(browser, served)
    agent_id = _gated_agent(page, served, token, "careful")
    sign_in(page, served, email)
    page.goto(f"{served}/agents/{agent_id}")
    panel = page.get_by_role("region", name="Approval policy")
    expect(_fact(panel, "Commands that need approval")).to_have_text(
        "deploy", timeout=UI_TIMEOUT_MS
    )
    expect(_fact(panel, "Task types that need approval")).to_have_text("echo")
    expect(_fact(panel, "An approval expires after")).to_have_text("10 minutes")

    # Edited: a name the server refuses is said beside its field, which takes the focus.
    panel.get_by_role("button", name="Edit approval policy").click()
    commands = panel.get_by_label("Commands that need approval")
    commands.fill("deploy, " + "x" * 201)
    panel.get_by_role("button", name="Save approval policy").click()
    expect(commands).to_have_attribute("aria-invalid", "true", timeout=UI_TIMEOUT_MS)
    expect(commands).to_be_focused()
    commands.fill("deploy, rollback")
    panel.get_by_label("Task types that need approval").fill("*")
    panel.get_by_label("Expire after (seconds)").fill("1800")
    panel.get_by_role("button", name="Save approval policy").click()
    expect(panel.get_by_role("status")).to_have_text(
        "Approval policy saved.", timeout=UI_TIMEOUT_MS
    )
    expect(_fact(panel, "Commands that need approval")).to_have_text("deploy, rollback")
    expect(_fact(panel, "Task types that need approval")).to_have_text("Every task type")
    expect(_fact(panel, "An approval expires after")).to_have_text("30 minutes")
    stored = graphql(served, token, AGENT, {"id": agent_id})["agent"]["approvalPolicy"]
    assert stored == {
        "commands": ["deploy", "rollback"],
        "taskTypes": ["*"],
        "timeoutSeconds": 1800,
    }

    # A command sent from the page that waits says so, and leads to its approval.
    commands_card = page.get_by_role("region", name="Send a command")
    commands_card.get_by_label("Command", exact=True).fill("rollback")
    commands_card.get_by_role("button", name="Send command").click()
    waits = commands_card.get_by_role("status")
    expect(waits).to_contain_text("rollback waits for approval", timeout=UI_TIMEOUT_MS)
    expect(waits).not_to_contain_text("failed")
    shoot(page, "console-approvals-agent-policy")
    assert accessibility_violations(page) == []
    waits.get_by_role("link", name="See its approval").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Approval: Command rollback on agent careful", timeout=UI_TIMEOUT_MS
    )
    page.get_by_role("button", name=re.compile("^Approve")).click()
    expect(page.get_by_role("status").filter(has_text="Approved by")).to_have_text(
        "Approved by you.", timeout=UI_TIMEOUT_MS
    )
    expect(_fact(page, "Decision")).to_have_text("Approved by you")
    # Below, what came of it: the command ran in the background, and its result shows.
    outcome = page.get_by_role("region", name="What came of it")
    expect(_fact(outcome, "The command")).to_have_text("Succeeded", timeout=UI_TIMEOUT_MS)
    expect(outcome.get_by_label("The command's result")).to_contain_text('"rollback"')

    # A task that waits: the agent page links to its approval; rejected there, it is cancelled.
    task = _enqueue(served, token, agent_id)
    page.goto(f"{served}/agents/{agent_id}")
    tasks = page.get_by_role("region", name="Tasks", exact=True)
    tasks.get_by_role("listitem").filter(has_text=task["id"]).get_by_role(
        "link", name="its approval"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Approval: Task echo on agent careful", timeout=UI_TIMEOUT_MS
    )
    page.get_by_label("Reason (optional)").fill("not needed")
    page.get_by_role("button", name=re.compile("^Reject")).click()
    expect(_fact(page, "Reason")).to_have_text("not needed", timeout=UI_TIMEOUT_MS)
    outcome = page.get_by_role("region", name="What came of it")
    expect(_fact(outcome, "Its state")).to_have_text("Cancelled", timeout=UI_TIMEOUT_MS)
    expect(_fact(outcome, "Error")).to_have_text("Approval rejected: not needed")
    assert _task_state(served, token, task["id"]) == {
        "state": "CANCELLED",
        "error": "Approval rejected: not needed",
    }

    # The Tasks page says a waiting task waits, and links to its approval too.
    waiting = _enqueue(served, token, agent_id)
    page.goto(f"{served}/tasks?agent={agent_id}")
    card = page.get_by_role("listitem").filter(has_text=waiting["id"]).first
    expect(card).to_contain_text("Waiting for approval", timeout=UI_TIMEOUT_MS)
    card.get_by_role("link", name=re.compile("^See its approval")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Approval: Task echo on agent careful", timeout=UI_TIMEOUT_MS
    )
    outcome = page.get_by_role("region", name="What came of it")
    expect(_fact(outcome, "Its state")).to_have_text("Waiting for approval", timeout=UI_TIMEOUT_MS)
    expect(_fact(outcome, "Task")).to_contain_text(waiting["id"])
    # Approved here, the task runs, and its page follows it to the end.
    page.get_by_role("button", name=re.compile("^Approve")).click()
    expect(_fact(outcome, "Its state")).to_have_text("Completed", timeout=UI_TIMEOUT_MS)
    expect(outcome.get_by_label("The task's result")).to_be_visible()
    shoot(page, "console-approvals-outcome")
    assert accessibility_violations(page) == []
    page_watch.check()
    context.close()
