"""The console's agents pages in a real Chromium against a real `kai serve`:

- an agent created through the form generated from its type's configSchema (its checks
  stop a bad value in the page), then edited through the same form;
- the list's filters (name, type, state) and order, applied by the server, its pages through
  the connection's cursors with the list's totalCount, and an agent's state changing live in
  its row;
- a command sent with JSON parameters (refused in the page while they do not parse), and a
  prompt streamed token by token (the answer grows while the agent is still answering);
- the live event stream surviving a dropped connection (the browser goes offline while the
  agent keeps working): the page says it reconnected, and the seqs it shows are contiguous;
- over Server-Sent Events when a WebSocket cannot connect;
- logs filtered by level and paged;
- delete, which asks first (Escape backs out, the keyboard confirms);
- a USER, who may not read configuration or delete, is shown neither.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from tests.support.browser import (
    accessibility_violations,
    browser,
    overflows_horizontally,
    served,
    shoot,
    watch,
)
from tests.support.console import UI_TIMEOUT_MS, graphql, register, register_admin, sign_in

__all__ = ["browser", "served"]  # fixtures

pytestmark = pytest.mark.slow

ADMIN = "agents-admin@example.com"
CREATE_AGENT = """
mutation($input: AgentConfigInput!) { createAgent(input: $input) { id state } }
"""
AGENT = "query($id: ID!) { agent(id: $id) { id name state configuration capabilities } }"
SEND = """
mutation($id: ID!, $command: String!) {
  sendCommand(agentId: $id, command: {command: $command}) { success }
}
"""
STOP = "mutation($id: ID!) { stopAgent(id: $id) { state } }"
AGENTS = "{ agents(first: 500) { edges { node { name configuration } } } }"
LOG = """
mutation($id: ID!, $level: LogLevel!, $message: String!) {
  agentLog(agentId: $id, level: $level, message: $message) { id }
}
"""


@pytest.fixture(scope="module")
def admin(served: str) -> str:
    """The module's server's first account (ADMIN); its access token. Every test asks for it,
    so that it is registered before anyone else."""
    return str(register_admin(served, ADMIN)["accessToken"])


def _open(browser: Any, url: str, width: int = 1280) -> tuple[Any, Any, Any]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page_watch = watch(context, url)
    return context, context.new_page(), page_watch


def _agent(url: str, token: str, name: str, type_: str = "echo", **configuration: Any) -> str:
    variables = {"input": {"name": name, "type": type_, "configuration": configuration}}
    return str(graphql(url, token, CREATE_AGENT, variables)["createAgent"]["id"])


def _nodes(connection: dict[str, Any]) -> list[Any]:
    return [edge["node"] for edge in connection["edges"]]


def _row(page: Any, name: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))


def _eventually(page: Any, check: Any, timeout: float = 15) -> Any:
    """`check()` once it stops failing, waiting through Playwright (the watch's route handler
    lets the page's requests through only while Playwright runs)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(100)


def _shown_seqs(page: Any) -> list[int]:
    cells = page.get_by_role("region", name="Live events").locator("td.seq")
    return [int(text) for text in cells.all_inner_texts()]


def test_an_agent_is_created_through_the_generated_form_and_edited_through_it(
    browser: Any, served: str, admin: str
) -> None:
    context, page, page_watch = _open(browser, served)
    sign_in(page, served, ADMIN)
    page.get_by_role("button", name="New agent").click()
    form = page.get_by_role("region", name="New agent")
    # The type's schema drew the fields: echo's one number, with its range.
    form.get_by_label("Type").select_option("echo")
    form.get_by_label("Name", exact=True).fill("form-made")
    form.get_by_label("Capabilities").fill("demo, echo")
    delay = form.get_by_label("delaySeconds")
    assert delay.get_attribute("type") == "number"
    assert "at most 60" in form.get_by_text("Pause before each answer").inner_text()
    delay.fill("99")
    form.get_by_role("button", name="Create agent").click()
    form.get_by_text("At most 60.", exact=True).wait_for()
    assert delay.get_attribute("aria-invalid") == "true"
    shoot(page, "console-agent-form-invalid")

    # Another type, another form: llm's required fields and its secret.
    form.get_by_label("Type").select_option("llm")
    form.get_by_label("baseUrl (required)").fill("not a url")
    assert form.get_by_label("apiKey").get_attribute("type") == "password"
    form.get_by_role("button", name="Create agent").click()
    form.get_by_text("Not in the expected form.").wait_for()
    assert form.get_by_text("Required.").count() == 1  # model
    assert form.get_by_label("model (required)").get_attribute("aria-invalid") == "true"
    shoot(page, "console-agent-form-llm")

    form.get_by_label("Type").select_option("echo")
    form.get_by_label("delaySeconds").fill("0.25")
    form.get_by_role("button", name="Create agent").click()
    page.get_by_text("Agent created.").wait_for(timeout=UI_TIMEOUT_MS)
    row = _row(page, "form-made")
    row.get_by_text("RUNNING").wait_for(timeout=UI_TIMEOUT_MS)
    agent_id = str(row.get_by_role("link").get_attribute("href")).rsplit("/", 1)[1]
    stored = graphql(served, admin, AGENT, {"id": agent_id})["agent"]
    assert stored["configuration"] == {"delaySeconds": 0.25}
    assert stored["capabilities"] == ["demo", "echo"]
    shoot(page, "console-agent-created")

    page.get_by_role("button", name="Edit agent form-made").click()
    edit = page.get_by_role("region", name="Edit agent form-made")
    delay = edit.get_by_label("delaySeconds")
    _eventually(page, lambda: _equal(delay.input_value(), "0.25"))
    edit.get_by_label("Name", exact=True).fill("form-edited")
    delay.fill("0")
    edit.get_by_role("button", name="Save changes").click()
    page.get_by_text("Saved agent form-made.").wait_for(timeout=UI_TIMEOUT_MS)
    _row(page, "form-edited").wait_for(timeout=UI_TIMEOUT_MS)
    stored = graphql(served, admin, AGENT, {"id": agent_id})["agent"]
    assert stored["name"] == "form-edited"
    assert stored["configuration"] == {"delaySeconds": 0}
    shoot(page, "console-agent-edited")

    # A remote agent: its list of task types is one per line, and what its schema leaves open
    # is a JSON object beside the fields.
    page.get_by_role("button", name="New agent").click()
    form = page.get_by_role("region", name="New agent")
    form.get_by_label("Type").select_option("remote")
    form.get_by_label("Name", exact=True).fill("form-remote")
    task_types = form.get_by_label("taskTypes")
    task_types.fill("summarise\nsummarise")
    other = form.get_by_label("Other settings (JSON object)")
    other.fill('{"region": "eu"')
    form.get_by_text(re.compile("^Not valid JSON")).wait_for()
    form.get_by_role("button", name="Create agent").click()
    form.get_by_text("Each line must differ.").wait_for()
    task_types.fill("summarise\ntranslate")
    other.fill('{"region": "eu"}')
    form.get_by_role("button", name="Create agent").click()
    _row(page, "form-remote").get_by_text("STOPPED").wait_for(timeout=UI_TIMEOUT_MS)
    agents = _nodes(graphql(served, admin, AGENTS)["agents"])
    assert {
        "name": "form-remote",
        "configuration": {"region": "eu", "taskTypes": ["summarise", "translate"]},
    } in agents
    page_watch.check()
    context.close()


def _equal(actual: Any, expected: Any) -> None:
    assert actual == expected


def _agent_reads(page: Any) -> list[dict[str, Any]]:
    """The variables of every ConsoleAgents read the page sends from now on."""
    reads: list[dict[str, Any]] = []

    def on_request(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/graphql"):
            body = request.post_data_json
            if isinstance(body, dict) and body.get("operationName") == "ConsoleAgents":
                reads.append(body["variables"])

    page.on("request", on_request)
    return reads


def _names(page: Any) -> list[str]:
    return [str(name) for name in page.locator("tbody th a").all_inner_texts()]


def test_the_list_filters_sorts_pages_and_shows_state_changes_live(
    browser: Any, served: str, admin: str
) -> None:
    ids = {f"fleet-echo-{n:02}": _agent(served, admin, f"fleet-echo-{n:02}") for n in range(8)}
    for n in range(4):
        _agent(served, admin, f"fleet-remote-{n:02}", "remote")
    context, page, page_watch = _open(browser, served)
    reads = _agent_reads(page)
    sign_in(page, served, ADMIN)
    main = page.get_by_role("main")
    main.get_by_text(re.compile(r"^\d+ agents in all$")).wait_for(timeout=UI_TIMEOUT_MS)
    page.get_by_label("Name contains").fill("fleet-")
    main.get_by_text("12 agents match these filters", exact=True).wait_for()
    # The server filtered: the page asked for the name, a page of ten at a time.
    assert reads[-1]["filter"]["nameContains"] == "fleet-"
    assert reads[-1]["first"] == 10 and reads[-1]["after"] is None
    pages = page.get_by_role("navigation", name="Pages of agents")
    assert "Page 1 of 2 (1–10 of 12)" in pages.inner_text()
    assert page.locator("tbody tr").count() == 10
    # Newest first: the remote agents, made last, lead.
    assert _names(page)[:4] == [f"fleet-remote-{n:02}" for n in (3, 2, 1, 0)]
    pages.get_by_role("button", name="Next page of agents").click()
    pages.get_by_text("Page 2 of 2 (11–12 of 12)").wait_for()
    assert _names(page) == ["fleet-echo-01", "fleet-echo-00"]
    assert reads[-1]["after"]  # the first page's endCursor
    assert pages.get_by_role("button", name="Next page of agents").is_disabled()
    pages.get_by_role("button", name="Previous page of agents").click()
    pages.get_by_text("Page 1 of 2 (1–10 of 12)").wait_for()

    # Sorted by the server too: by name, either way, from the first page again.
    page.get_by_label("Order").select_option(label="Name, A to Z")
    _eventually(page, lambda: _equal(_names(page)[:2], ["fleet-echo-00", "fleet-echo-01"]))
    assert reads[-1]["orderBy"] == {"field": "NAME", "direction": "ASC"}
    assert reads[-1]["after"] is None
    pages.get_by_role("button", name="Next page of agents").click()
    _eventually(page, lambda: _equal(_names(page), ["fleet-remote-02", "fleet-remote-03"]))
    page.get_by_label("Order").select_option(label="Name, Z to A")
    _eventually(page, lambda: _equal(_names(page)[:2], ["fleet-remote-03", "fleet-remote-02"]))
    pages.get_by_text("Page 1 of 2 (1–10 of 12)").wait_for()
    page.get_by_label("Order").select_option(label="Newest first")

    page.get_by_label("Type").select_option("remote")
    main.get_by_text("4 agents match these filters", exact=True).wait_for()
    assert reads[-1]["filter"]["types"] == ["remote"]
    # One page: no pager.
    assert pages.count() == 0
    assert page.locator("tbody tr").count() == 4
    page.get_by_label("Type").select_option("")
    page.get_by_label("State").select_option("STOPPED")
    main.get_by_text("4 agents match these filters", exact=True).wait_for()
    assert reads[-1]["filter"]["states"] == ["STOPPED"]
    assert all(name.startswith("fleet-remote-") for name in _names(page))
    page.get_by_label("Name contains").fill("no-such-fleet")
    main.get_by_text("No agent matches these filters.").wait_for()
    main.get_by_text("0 agents match these filters", exact=True).wait_for()
    page.get_by_label("State").select_option("")
    page.get_by_label("Name contains").fill("fleet-echo-03")
    main.get_by_text("1 agent matches these filters", exact=True).wait_for()
    row = _row(page, "fleet-echo-03")
    row.get_by_text("RUNNING").wait_for()
    shoot(page, "console-agents-filtered")

    # Stopped elsewhere: the row follows at once, with no reload.
    graphql(served, admin, STOP, {"id": ids["fleet-echo-03"]})
    row.get_by_text("STOPPED").wait_for(timeout=UI_TIMEOUT_MS)
    # Restarted here, after the confirmation.
    row.get_by_role("button", name="Restart agent fleet-echo-03").click()
    row.get_by_text("Restart fleet-echo-03?").wait_for()
    row.get_by_role("button", name="Yes, restart").click()
    row.get_by_text("RUNNING").wait_for(timeout=UI_TIMEOUT_MS)
    assert (
        graphql(served, admin, AGENT, {"id": ids["fleet-echo-03"]})["agent"]["state"] == "RUNNING"
    )

    # At a phone's width the list is a column of cards, with nothing to scroll sideways.
    page.set_viewport_size({"width": 360, "height": 740})
    page.get_by_label("Name contains").fill("fleet-")
    main.get_by_text("12 agents match these filters", exact=True).wait_for()
    pages.wait_for()
    assert not overflows_horizontally(page)
    assert accessibility_violations(page) == []
    shoot(page, "console-agents-phone")
    page_watch.check()
    context.close()


def test_a_command_is_sent_and_a_prompt_streams_token_by_token(
    browser: Any, served: str, admin: str
) -> None:
    # 0.8 s before each word: the prompt's answer (5 words, 4 s) is still streaming while the
    # test reads its first words, on a busy machine too (at 0.4 s, some 1.6 s were left).
    agent_id = _agent(served, admin, "talker", delaySeconds=0.8)
    context, page, page_watch = _open(browser, served)
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    sign_in(page, served, ADMIN)
    page.goto(f"{served}/agents/{agent_id}")
    page.get_by_role("heading", name="Agent talker", level=1).wait_for(timeout=UI_TIMEOUT_MS)
    health = page.get_by_role("region", name="Health and metrics")
    health.get_by_text("HEALTHY").wait_for(timeout=UI_TIMEOUT_MS)
    # Nothing measured yet: said so, never 0.
    assert _metric(health, "Response time") == "not measured"
    assert _metric(health, "Memory use") == "not measured"
    assert _metric(health, "95th percentile response") == "not measured"

    panel = page.get_by_role("region", name="Send a command")
    panel.get_by_label("Command").fill("ping")
    params = panel.get_by_label("Parameters (JSON object)")
    params.fill('{"n": 1')
    panel.get_by_text(re.compile("^Not valid JSON")).wait_for()
    assert panel.get_by_role("button", name="Send command").is_disabled()
    params.fill("[1, 2]")
    panel.get_by_text("Enter a JSON object").wait_for()
    params.fill('{"n": 1}')
    panel.get_by_role("button", name="Send command").click()
    panel.get_by_text(re.compile(r"ping succeeded in [\d.]+ ms")).wait_for(timeout=UI_TIMEOUT_MS)
    result = json.loads(panel.get_by_label("Command result").inner_text())
    assert result == {"echo": "ping", "params": {"n": 1}}
    _eventually(page, lambda: _equal(_metric(health, "Commands"), "1 (0 failed)"))
    assert re.fullmatch(r"[\d.]+ ms", _metric(health, "Response time"))
    shoot(page, "console-agent-command")

    chat = page.get_by_role("region", name="Chat")
    chat.get_by_label("Prompt").fill("alpha beta gamma delta epsilon")
    chat.get_by_role("button", name="Send prompt").click()
    answer = chat.locator(".answer").last
    # The first words are on the page while the agent is still answering.
    answer.filter(has_text="alpha").wait_for(timeout=UI_TIMEOUT_MS)
    partial = answer.inner_text()
    assert answer.get_attribute("data-state") == "streaming"
    assert "epsilon" not in partial
    shoot(page, "console-agent-prompt-streaming")
    page.wait_for_selector(".answer[data-state=done]", timeout=UI_TIMEOUT_MS)
    assert answer.inner_text() == "alpha beta gamma delta epsilon"
    assert chat.get_by_text(re.compile(r"\(complete, \d+ chunks\)")).count() == 1
    assert sockets and all(url.startswith(served.replace("http", "ws")) for url in sockets)
    shoot(page, "console-agent-prompt-done")
    page_watch.check()
    context.close()


def _metric(region: Any, name: str) -> str:
    return str(region.locator("dt", has_text=re.compile(f"^{name}$")).locator("+ dd").inner_text())


def test_the_live_event_stream_resumes_after_a_dropped_connection_with_no_gap(
    browser: Any, served: str, admin: str
) -> None:
    agent_id = _agent(served, admin, "watched")
    context, page, page_watch = _open(browser, served)
    subscribed: list[dict[str, Any]] = []
    payloads: list[dict[str, Any]] = []

    def on_socket(socket: Any) -> None:
        def on_frame(frame: str | bytes) -> None:
            message = json.loads(frame)
            if message.get("type") == "subscribe":
                payloads.append(message["payload"])
                if message["payload"].get("operationName") == "ConsoleAgentEvents":
                    subscribed.append(message["payload"]["variables"])

        socket.on("framesent", on_frame)

    page.on("websocket", on_socket)
    sign_in(page, served, ADMIN)
    page.goto(f"{served}/agents/{agent_id}")
    events = page.get_by_role("region", name="Live events")
    _eventually(page, lambda: _equal(_shown_seqs(page), [2, 1]))  # created: STARTING, RUNNING

    # The browser loses the network; the agent keeps working meanwhile.
    context.set_offline(True)
    events.get_by_text(re.compile("^Connection lost at .*; reconnecting")).wait_for(timeout=30_000)
    shoot(page, "console-events-offline")
    for command in ("first", "second", "third"):
        assert graphql(served, admin, SEND, {"id": agent_id, "command": command})
    page.wait_for_timeout(1000)
    assert _shown_seqs(page) == [2, 1]

    context.set_offline(False)
    status = events.get_by_role("status")
    status.get_by_text(re.compile(r"^Reconnected at .*Resumed after event #2: ")).wait_for(
        timeout=60_000
    )
    _eventually(page, lambda: _equal(_shown_seqs(page), [5, 4, 3, 2, 1]))
    status.get_by_text("events #3–#5 arrived since, none missing.", exact=False).wait_for()
    # It subscribed from the start, then again after the last seq it held.
    assert {"agentId": agent_id, "after": 0} in subscribed
    assert subscribed[-1] == {"agentId": agent_id, "after": 2}
    # Each named by its id in the console's manifest, never sent as text.
    assert all("query" not in p and p["documentId"].startswith("sha256:") for p in payloads)
    assert events.get_by_role("alert").count() == 0
    # What the page read over HTTP is read again: the three commands are counted.
    health = page.get_by_role("region", name="Health and metrics")
    _eventually(page, lambda: _equal(_metric(health, "Commands"), "3 (0 failed)"))
    _eventually(page, lambda: _equal(health.get_by_role("alert").count(), 0))
    shoot(page, "console-events-resumed")

    # And it is live again.
    graphql(served, admin, SEND, {"id": agent_id, "command": "fourth"})
    _eventually(page, lambda: _equal(_shown_seqs(page), [6, 5, 4, 3, 2, 1]))
    status.get_by_text("events #3–#6 arrived since, none missing.", exact=False).wait_for()
    page_watch.check()
    context.close()


SSE_STREAMS = 4  # console/src/app/client.ts


def test_events_arrive_over_server_sent_events_when_a_websocket_cannot_connect(
    browser: Any, served: str, admin: str
) -> None:
    # More agents than the browser's six connections to one origin: a page holding one SSE
    # stream per row would leave no connection for its own queries or the next navigation.
    agent_ids = [_agent(served, admin, f"behind-a-proxy-{n}") for n in range(12)]
    agent_id = agent_ids[0]
    context, page, page_watch = _open(browser, served)
    refused: list[str] = []

    def refuse(socket: Any) -> None:
        # As a proxy that does not pass WebSockets: closed before the protocol starts.
        refused.append(socket.url)
        socket.close(code=1011, reason="no websockets here")

    context.route_web_socket(re.compile(r"/graphql$"), refuse)
    open_streams: set[Any] = set()
    most_open = 0

    def on_request(request: Any) -> None:
        nonlocal most_open
        # graphql-sse asks for the stream alone; urql's queries list it among what they accept.
        if request.headers.get("accept") == "text/event-stream":
            open_streams.add(request)
            most_open = max(most_open, len(open_streams))

    def on_end(request: Any) -> None:
        open_streams.discard(request)

    page.on("request", on_request)
    page.on("requestfinished", on_end)
    page.on("requestfailed", on_end)
    sign_in(page, served, ADMIN)

    # The list: no stream per row; it says so, and a change made elsewhere shows on its next read.
    page.get_by_text("Live updates travel over Server-Sent Events here").wait_for(
        timeout=UI_TIMEOUT_MS
    )
    graphql(served, admin, STOP, {"id": agent_ids[-1]})
    _row(page, "behind-a-proxy-11").get_by_text("STOPPED").wait_for(timeout=UI_TIMEOUT_MS)
    assert most_open <= SSE_STREAMS

    page.goto(f"{served}/agents/{agent_id}")
    events = page.get_by_role("region", name="Live events")
    _eventually(page, lambda: _equal(_shown_seqs(page), [2, 1]))
    graphql(served, admin, SEND, {"id": agent_id, "command": "over-sse"})
    _eventually(page, lambda: _equal(_shown_seqs(page), [3, 2, 1]))
    events.get_by_text("Live over Server-Sent Events").wait_for()
    assert refused and 0 < most_open <= SSE_STREAMS
    shoot(page, "console-events-sse")
    page_watch.check()
    context.close()


def test_logs_are_filtered_by_level_and_paged(browser: Any, served: str, admin: str) -> None:
    agent_id = _agent(served, admin, "logger", "remote")
    levels = ["DEBUG", "INFO", "WARNING", "ERROR"]
    for n in range(25):
        level = levels[n % 4]
        graphql(
            served, admin, LOG, {"id": agent_id, "level": level, "message": f"line {n} {level}"}
        )
    context, page, page_watch = _open(browser, served)
    sign_in(page, served, ADMIN)
    page.goto(f"{served}/agents/{agent_id}")
    logs = page.get_by_role("region", name="Logs")
    rows = logs.locator("tbody tr")
    logs.get_by_text("line 24 DEBUG").wait_for(timeout=UI_TIMEOUT_MS)
    assert rows.count() == 20
    assert "line 24 DEBUG" in rows.first.inner_text() and "line 5 INFO" in rows.last.inner_text()
    logs.get_by_role("button", name="Older log lines").click()
    logs.get_by_text("line 0 DEBUG").wait_for()
    assert rows.count() == 5
    logs.get_by_role("button", name="Newer log lines").click()
    logs.get_by_text("line 24 DEBUG").wait_for()

    logs.get_by_label("Lowest level shown").select_option("WARNING")
    logs.get_by_text("line 23 ERROR").wait_for()
    _eventually(page, lambda: _equal(rows.count(), 12))
    shown = [row.locator("td").nth(1).inner_text() for row in rows.all()]
    assert set(shown) == {"WARNING", "ERROR"}
    assert logs.get_by_role("button", name="Older log lines").is_disabled()
    shoot(page, "console-agent-logs-warning")

    # A new line shows up on its own (its LOG event reads the first page again).
    graphql(served, admin, LOG, {"id": agent_id, "level": "ERROR", "message": "fresh trouble"})
    logs.get_by_text("fresh trouble").wait_for(timeout=UI_TIMEOUT_MS)
    page_watch.check()
    context.close()


def test_delete_asks_first_and_is_confirmed_from_the_keyboard(
    browser: Any, served: str, admin: str
) -> None:
    agent_id = _agent(served, admin, "doomed")
    context, page, page_watch = _open(browser, served)
    sign_in(page, served, ADMIN)
    page.get_by_label("Name contains").fill("doomed")
    row = _row(page, "doomed")
    row.wait_for()
    row.get_by_role("button", name="Delete agent doomed").click()
    row.get_by_text("Delete doomed? Its tasks are cancelled").wait_for()
    confirm = row.get_by_role("button", name="Yes, delete")
    assert confirm.evaluate("button => button === document.activeElement")
    shoot(page, "console-agent-delete-asks")
    page.keyboard.press("Escape")
    row.get_by_role("button", name="Delete agent doomed").wait_for()
    assert graphql(served, admin, AGENT, {"id": agent_id})["agent"] is not None

    row.get_by_role("button", name="Delete agent doomed").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # on "Yes, delete", which took the focus
    page.get_by_text("Deleted agent doomed.").wait_for(timeout=UI_TIMEOUT_MS)
    _eventually(page, lambda: _equal(row.count(), 0))
    gone = httpx.post(
        f"{served}/graphql",
        json={"query": AGENT, "variables": {"id": agent_id}},
        headers={"authorization": f"Bearer {admin}"},
    ).json()
    assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    shoot(page, "console-agent-deleted")
    page_watch.check()
    context.close()


def test_a_user_is_not_offered_what_their_role_does_not_allow(
    browser: Any, served: str, admin: str
) -> None:
    email = "agents-user@example.com"
    token = register(served, email)["accessToken"]
    _agent(served, token, "users-own", delaySeconds=1)
    context, page, page_watch = _open(browser, served)
    sign_in(page, served, email)
    row = _row(page, "users-own")
    row.get_by_text("RUNNING").wait_for(timeout=UI_TIMEOUT_MS)
    # USER may restart but not delete agents, and has no administration pages.
    assert row.get_by_role("button", name="Restart agent users-own").count() == 1
    assert row.get_by_role("button", name="Delete agent users-own").count() == 0
    main_nav = page.get_by_role("navigation", name="Main")
    assert main_nav.get_by_role("link", name="Admin").count() == 0
    page.goto(f"{served}/admin/users")
    page.get_by_text("it is for administrators (ADMIN)").wait_for(timeout=UI_TIMEOUT_MS)
    page.goto(f"{served}/agents")
    row.get_by_role("button", name="Edit agent users-own").click()
    edit = page.get_by_role("region", name="Edit agent users-own")
    delay = edit.get_by_label("delaySeconds")
    _eventually(page, lambda: _equal(delay.input_value(), "1"))
    edit.get_by_label("Name", exact=True).fill("users-renamed")
    edit.get_by_role("button", name="Save changes").click()
    _row(page, "users-renamed").wait_for(timeout=UI_TIMEOUT_MS)
    agents = _nodes(graphql(served, token, AGENTS)["agents"])
    assert agents == [{"name": "users-renamed", "configuration": {"delaySeconds": 1}}]
    shoot(page, "console-agents-user")
    page_watch.check()
    context.close()
