"""kAI's self-hosted GraphiQL in a real Chromium against a real `kai serve`: it renders with no
request leaving the machine, runs a query with the header editor's bearer token, and runs a
subscription over graphql-ws. (Production serves it only when KAI_GRAPHIQL says so:
tests/test_production.py.)"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.support.browser import browser, served, shoot, watch
from tests.support.console import register

__all__ = ["browser", "served"]  # fixtures

pytestmark = pytest.mark.slow


def _replace_editor_text(page: Any, editor: Any, text: str) -> None:
    """Types `text` into a Monaco editor as a person would, over what it held. Monaco closes
    brackets and quotes as they open and types over the closer when it comes, so what is
    typed is what the editor holds."""
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)
    # What the editor shows (Monaco draws spaces as no-break spaces) is what was typed.
    lines = editor.locator(".view-lines")
    page.wait_for_function(
        "([lines, text]) => lines.innerText.replace(/\\u00a0/g, ' ').trim() === text",
        arg=[lines.element_handle(), text],
    )


def _set_headers(page: Any, headers: dict[str, str]) -> None:
    """Opens the Headers tab and types `headers` (JSON) into its editor."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Headers").click()
    # The tool pane holds the variables editor, then the headers editor; the one not shown
    # has the class `hidden`.
    editors = page.locator(".graphiql-editor-tool .graphiql-editor")
    expect(editors.nth(0)).to_have_class(re.compile(r"\bhidden\b"))
    _replace_editor_text(page, editors.nth(1), json.dumps(headers))


def _open(browser: Any, url: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page_watch = watch(context, url)
    page = context.new_page()
    page.goto(f"{url}/graphql")
    # Monaco has drawn the query editor with its first text: it takes keys from now on.
    page.locator(".graphiql-query-editor .view-lines").get_by_text("Welcome").wait_for()
    return page, page_watch


def test_graphiql_renders_with_no_request_leaving_the_machine(browser: Any, served: str) -> None:
    page, page_watch = _open(browser, served)
    # The schema arrived (introspection over our fetcher): the docs list the root types.
    page.get_by_role("button", name=re.compile("documentation explorer", re.I)).click()
    page.get_by_text("Query", exact=True).first.wait_for()
    shoot(page, "graphiql-docs")
    page_watch.check()
    page.context.close()


def test_graphiql_runs_a_query_with_the_bearer_token_from_the_header_editor(
    browser: Any, served: str
) -> None:
    auth = register(served, "graphiql-query@example.com")
    page, page_watch = _open(browser, served)
    _replace_editor_text(page, page.locator(".graphiql-query-editor"), "{ me { email role } }")
    _set_headers(page, {"Authorization": f"Bearer {auth['accessToken']}"})
    page.get_by_role("button", name=re.compile("execute query", re.I)).click()
    response = page.locator(".graphiql-response")
    response.get_by_text("graphiql-query@example.com").wait_for()
    shoot(page, "graphiql-query")
    page_watch.check()
    page.context.close()


def test_graphiql_runs_a_subscription_over_graphql_ws(browser: Any, served: str) -> None:
    auth = register(served, "graphiql-subscription@example.com")
    bearer = {"authorization": f"Bearer {auth['accessToken']}"}
    created = httpx.post(
        f"{served}/graphql",
        headers=bearer,
        json={
            "query": "mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }",
            "variables": {"input": {"name": "watched", "type": "echo"}},
        },
    ).json()
    agent_id = created["data"]["createAgent"]["id"]
    page, page_watch = _open(browser, served)
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    subscription = f'subscription {{ agentEvents(agentId: "{agent_id}", after: 0) {{ seq type }} }}'
    _replace_editor_text(page, page.locator(".graphiql-query-editor"), subscription)
    _set_headers(page, {"Authorization": f"Bearer {auth['accessToken']}"})
    page.get_by_role("button", name=re.compile("execute query", re.I)).click()
    response = page.locator(".graphiql-response")
    # GraphiQL shows a subscription's latest event: the replay (after: 0) ends with the
    # agent's start; then a command's result arrives live.
    response.get_by_text("STATUS_UPDATE").wait_for()
    sent = httpx.post(
        f"{served}/graphql",
        headers=bearer,
        json={
            "query": 'mutation($id: ID!) { sendCommand(agentId: $id, command: {command: "ping"}) '
            "{ success } }",
            "variables": {"id": agent_id},
        },
    ).json()
    assert sent["data"]["sendCommand"]["success"], sent
    response.get_by_text("COMMAND_RESULT").wait_for()
    assert sockets and all(url.startswith(served.replace("http", "ws")) for url in sockets)
    shoot(page, "graphiql-subscription")
    page_watch.check()
    page.context.close()
