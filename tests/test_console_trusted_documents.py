"""The console names every document by its id in its own manifest, never by its text, so
that it works on a server in trusted-documents mode with nothing listed for it: its manifest
is built into the package, and the server always runs it (docs/persisted-documents.md).

In a real Chromium against a real `kai serve` whose KAI_TRUSTED_DOCUMENTS lists only another
client's manifest (the few documents these tests send over HTTP), the console's main flows
work: sign in, the agents list with a state changing live, an agent created through the form,
its page with live events, a command and a streamed prompt, a task with live progress, an
upload, a reload that renews the session, sign out; and with WebSockets unavailable, events
over Server-Sent Events. Every request and WebSocket frame the page sent is recorded: each
names its document by `documentId` or by APQ hash, none by text. The same flows run on a
server without trusted documents (APQ mode), where the console's documents are found by id
too, none registered.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.browser import browser, serving, shoot, watch
from tests.support.console import (
    UI_TIMEOUT_MS,
    SentDocuments,
    graphql,
    record_documents,
    register,
    sign_in,
)
from tests.support.graphql_client import REGISTER

__all__ = ["browser"]  # fixture

pytestmark = pytest.mark.slow

CREATE_AGENT = "mutation CliCreate($input: AgentConfigInput!) { createAgent(input: $input) { id } }"
SEND = """mutation CliSend($id: ID!, $command: String!) {
  sendCommand(agentId: $id, command: {command: $command}) { success }
}"""
# Another client's manifest, as graphql-codegen writes one: what these tests send over HTTP.
OTHER_CLIENT = [REGISTER, CREATE_AGENT, SEND]
UNLISTED = "query Me { me { email } }"
NOTES = b"Written on a server that runs only the documents it trusts.\n"


@dataclass(frozen=True)
class Server:
    url: str
    trusted: bool  # runs only trusted documents


@pytest.fixture(scope="module", params=["trusted", "apq"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A `kai serve` in trusted-documents mode listing only OTHER_CLIENT's documents, or one
    without trusted documents (where an unlisted text runs)."""
    trusted = request.param == "trusted"
    settings: dict[str, str] = {}
    if trusted:
        manifest = tmp_path_factory.mktemp("manifest") / "persisted-documents.json"
        listed = {f"sha256:{hashlib.sha256(d.encode()).hexdigest()}": d for d in OTHER_CLIENT}
        manifest.write_text(json.dumps(listed))
        settings["KAI_TRUSTED_DOCUMENTS"] = str(manifest)
    with serving(tmp_path_factory, **settings) as url:
        response = httpx.post(f"{url}/graphql", json={"query": UNLISTED}, timeout=30)
        codes = [e["extensions"]["code"] for e in response.json().get("errors") or []]
        assert codes == (["PERSISTED_QUERY_NOT_IN_LIST"] if trusted else []), codes
        yield Server(url, trusted)


def _open(browser: Any, url: str) -> tuple[Any, Any, Any, SentDocuments]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page_watch = watch(context, url)
    page = context.new_page()
    return context, page, page_watch, record_documents(page)


def _shown_seqs(page: Any) -> list[int]:
    cells = page.get_by_role("region", name="Live events").locator("td.seq")
    return [int(text) for text in cells.all_inner_texts()]


def _wait_for_seqs(page: Any, wanted: list[int]) -> None:
    for _ in range(150):
        if _shown_seqs(page) == wanted:
            return
        page.wait_for_timeout(100)
    assert _shown_seqs(page) == wanted


def _create_agent_in_the_form(page: Any, name: str) -> str:
    """From the agents list: a new echo agent through the form; its id once its row says
    RUNNING (a state the list learns live)."""
    page.get_by_role("button", name="New agent").click()
    form = page.get_by_role("region", name="New agent")
    form.get_by_label("Type").select_option("echo")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_role("button", name="Create agent").click()
    page.get_by_text("Agent created.").wait_for(timeout=UI_TIMEOUT_MS)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
    row.get_by_text("RUNNING").wait_for(timeout=UI_TIMEOUT_MS)
    return str(row.get_by_role("link").get_attribute("href")).rsplit("/", 1)[1]


def _command_and_prompt(page: Any) -> None:
    """On an agent's page: a command, its event live, and a prompt streamed on its own socket."""
    panel = page.get_by_role("region", name="Send a command")
    panel.get_by_label("Command").fill("ping")
    panel.get_by_label("Parameters (JSON object)").fill('{"n": 1}')
    panel.get_by_role("button", name="Send command").click()
    panel.get_by_text(re.compile(r"ping succeeded in [\d.]+ ms")).wait_for(timeout=UI_TIMEOUT_MS)
    _wait_for_seqs(page, [3, 2, 1])
    chat = page.get_by_role("region", name="Chat")
    chat.get_by_label("Prompt").fill("only trusted words")
    chat.get_by_role("button", name="Send prompt").click()
    page.wait_for_selector(".answer[data-state=done]", timeout=UI_TIMEOUT_MS)
    assert chat.locator(".answer").last.inner_text() == "only trusted words"


def _task(page: Any, url: str, agent_id: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/tasks?agent={agent_id}")
    page.get_by_label("Payload (JSON)").fill('{"steps": 3, "stepSeconds": 0.2}')
    page.get_by_role("button", name="Queue task").click()
    status = page.get_by_role("status").filter(has_text=re.compile(r"Queued echo task"))
    expect(status).to_be_visible(timeout=UI_TIMEOUT_MS)
    task_id = re.search(r"Queued echo task (\S+)\.", status.inner_text())
    assert task_id, status.inner_text()
    queued = page.get_by_role("region", name="Queued from this tab")
    item = queued.get_by_role("listitem").filter(has_text=task_id.group(1))
    expect(item).to_contain_text("Completed", timeout=30_000)


def _upload(page: Any, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/files")
    page.get_by_label("Files to upload").set_input_files(
        [{"name": "trusted.txt", "mimeType": "text/plain", "buffer": NOTES}]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    uploads = page.get_by_role("list", name="Uploads")
    expect(
        uploads.get_by_role("listitem").filter(has_text="Upload of trusted.txt")
    ).to_contain_text("Uploaded:", timeout=30_000)
    files = page.get_by_role("list", name="Files")
    expect(files.get_by_role("heading", name="trusted.txt", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )


def test_the_console_s_main_flows_name_every_document_by_id_never_by_text(
    browser: Any, server: Server
) -> None:
    from playwright.sync_api import expect

    email = "trusting@example.com"
    register(server.url, email)  # the other client's REGISTER, listed
    context, page, page_watch, sent = _open(browser, server.url)
    sign_in(page, server.url, email)
    expect(page.get_by_role("heading", name="Agents", level=1)).to_be_visible()
    agent_id = _create_agent_in_the_form(page, "trusted-echo")

    page.get_by_role("link", name="trusted-echo", exact=True).click()
    page.get_by_role("heading", name="Agent trusted-echo", level=1).wait_for(timeout=UI_TIMEOUT_MS)
    _wait_for_seqs(page, [2, 1])  # created: STARTING, RUNNING, live
    _command_and_prompt(page)
    shoot(page, f"console-trusted-agent-{'on' if server.trusted else 'off'}")
    _task(page, server.url, agent_id)
    _upload(page, server.url)

    # A reload: the session is renewed from the stored refresh token (a fetch of its own).
    page.reload()
    expect(page.locator("header")).to_contain_text(email, timeout=UI_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="trusted.txt", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"), timeout=UI_TIMEOUT_MS)
    page_watch.check()
    context.close()

    sent.check_no_text()
    how = sent.how()
    assert {"documentId", "sha256Hash"} == set(how), how
    # Queries and mutations by APQ hash; subscriptions, the upload and the refresh by id.
    for operation in (
        "ConsoleLogin",
        "ConsoleAgents",
        "ConsoleCreateAgent",
        "ConsoleAgentStateEvents",
        "ConsoleAgentEvents",
        "ConsoleSendCommand",
        "ConsoleStreamPrompt",
        "TasksPageEnqueue",
        "TasksPageTaskUpdates",
        "FilesPageUpload",
        "ConsoleRefreshToken",
        "ConsoleLogout",
    ):
        assert operation in sent.names(), (operation, sorted(sent.names()))


def test_events_over_server_sent_events_name_their_document_by_id(
    browser: Any, server: Server
) -> None:
    email = "trusting-sse@example.com"
    token = register(server.url, email)["accessToken"]
    variables = {"input": {"name": "behind-a-proxy", "type": "echo"}}
    agent_id = graphql(server.url, token, CREATE_AGENT, variables)["createAgent"]["id"]
    context, page, page_watch, sent = _open(browser, server.url)
    # As a proxy that does not pass WebSockets: closed before the protocol starts.
    context.route_web_socket(
        re.compile(r"/graphql$"), lambda socket: socket.close(code=1011, reason="no websockets")
    )
    sign_in(page, server.url, email)
    page.goto(f"{server.url}/agents/{agent_id}")
    _wait_for_seqs(page, [2, 1])
    graphql(server.url, token, SEND, {"id": agent_id, "command": "over-sse"})
    _wait_for_seqs(page, [3, 2, 1])
    events = page.get_by_role("region", name="Live events")
    events.get_by_text("Live over Server-Sent Events").wait_for()
    page_watch.check()
    context.close()

    sent.check_no_text()
    streamed = [r for r in sent.requests if r.get("operationName") == "ConsoleAgentEvents"]
    assert streamed and all(r["documentId"].startswith("sha256:") for r in streamed), streamed


def test_the_console_s_manifest_is_the_one_built_into_the_package(server: Server) -> None:
    """It is not server.url: the server reads it from the package, nobody fetches it."""
    assert httpx.get(f"{server.url}/persisted-documents.json", timeout=30).status_code == 404
    built = Path(__file__).parent.parent / "kai" / "console" / "persisted-documents.json"
    assert json.loads(built.read_text())
