"""The console's Threads pages in a real Chromium against a real `kai serve`, its `llm` agent
talking to the fake OpenAI-compatible server of tests/support/fake_openai.py (on loopback,
each chunk a moment after the last, so that an answer is seen coming):

- a thread started from the Threads page with an echo agent: a message sent with Enter is
  answered and both are stored; a refusal (the agent stopped: AGENT_UNAVAILABLE) is said
  beside the message box, which gets its text back, and nothing is stored; deleted after a
  question, its list is empty;
- a thread with an llm agent, started from the agent's page: the answer streams in chunk by
  chunk, then shows as stored with its tokens; an answer stopped half way is kept as far as
  it got, marked interrupted; a message sent while an answer is written waits for it (QUEUE)
  or cuts it short (INTERRUPT); a message sent while the thread answers someone else is
  refused with CONFLICT, said beside the box, and sent again to wait for its turn;
- a long history: the newest page first, newest at the bottom, and earlier pages loaded
  until the start of the conversation; a new message follows on below.

Every request the page sent names its document by id (none by text).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.browser import accessibility_violations, browser, served, shoot, watch
from tests.support.console import (
    UI_TIMEOUT_MS,
    graphql,
    record_documents,
    register,
    register_admin,
    sign_in,
)
from tests.support.fake_openai import FakeOpenAI
from tests.support.threaded_app import app_on_a_thread

__all__ = ["browser", "served"]  # fixtures

pytestmark = pytest.mark.slow

CREATE_AGENT = "mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }"
STOP_AGENT = "mutation($id: ID!) { stopAgent(id: $id) { id } }"
AGENT = "query($id: ID!) { agent(id: $id) { state } }"
CREATE_THREAD = "mutation($input: ThreadInput!) { createThread(input: $input) { id } }"
POST = """
mutation($threadId: ID!, $content: String!) {
  postMessage(threadId: $threadId, input: {content: $content}) { id content }
}
"""
THREAD = """
query($id: ID!) {
  thread(id: $id) {
    busy
    messages(first: 500) { edges { node { role content interrupted usage { completionTokens } } } }
  }
}
"""
THREADS = "query($agentId: ID) { threads(agentId: $agentId) { totalCount edges { node { id } } } }"
WORDS = ["one ", "two ", "three ", "four ", "five ", "six ", "seven ", "eight"]
WHOLE = "".join(WORDS)


@pytest.fixture(scope="module", autouse=True)
def admin(served: str) -> None:
    """The server's first account, its ADMIN: the people of these tests are USERs."""
    register_admin(served, "threads-admin@example.com")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    """The fake LLM: eight chunks, 0.4 s apart. An answer (3.2 s) outlasts what the tests do
    while it is written (look, stop it, send beside it) on a busy machine too; at 0.25 s
    apart, under two seconds were left once its first words showed."""
    server = FakeOpenAI(chunks=list(WORDS), chunk_delay=0.4)
    with app_on_a_thread(server.app()) as url:
        server.base_url = f"{url}/v1"
        yield server


def _open(browser: Any, url: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page_watch = watch(context, url)
    return context.new_page(), page_watch


def _eventually(page: Any, check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    """What `check()` answers once it is truthy, waiting through Playwright (the watch's route
    handler lets the page's requests through only while Playwright runs)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)
    return found


def _running(page: Any, url: str, token: str, name: str, type_: str, **config: Any) -> str:
    agent = {"name": name, "type": type_, "configuration": config or None}
    agent_id = str(graphql(url, token, CREATE_AGENT, {"input": agent})["createAgent"]["id"])
    _eventually(
        page,
        lambda: graphql(url, token, AGENT, {"id": agent_id})["agent"]["state"] == "RUNNING",
        f"agent {name} to run",
    )
    return agent_id


def _llm(page: Any, url: str, token: str, fake: FakeOpenAI, name: str) -> str:
    return _running(
        page, url, token, name, "llm", baseUrl=fake.base_url, model="m", apiKey=fake.api_key
    )


def _stored(url: str, token: str, thread_id: str) -> list[dict[str, Any]]:
    thread = graphql(url, token, THREAD, {"id": thread_id})["thread"]
    return [edge["node"] for edge in thread["messages"]["edges"]]


def _said(url: str, token: str, thread_id: str) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in _stored(url, token, thread_id)]


def _thread_id(page: Any) -> str:
    found = re.search(r"/threads/(thr_[0-9a-f]+)$", page.url)
    assert found, page.url
    return found.group(1)


def _stored_items(page: Any) -> Any:
    """The stored messages shown (not those still on their way)."""
    return page.get_by_role("list", name="Messages, oldest first").locator("li:not(.in-flight)")


def _texts(page: Any) -> list[str]:
    """What each stored message shown says."""
    return [str(t) for t in _stored_items(page).locator(".message-text").all_inner_texts()]


def _answering(page: Any) -> Any:
    return page.locator('li.in-flight.from-assistant[data-state="answering"]')


def _box(page: Any) -> Any:
    return page.get_by_role("textbox", name="Message", exact=True)


def _send(page: Any, text: str, button: str | None = None) -> None:
    _box(page).fill(text)
    if button is None:
        _box(page).press("Enter")
    else:
        page.get_by_role("button", name=button, exact=True).click()


def test_an_echo_thread_is_started_talked_in_and_deleted(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    email = "threads-echo@example.com"
    token = register(served, email)["accessToken"]
    page, page_watch = _open(browser, served)
    agent_id = _running(page, served, token, "parrot", "echo")
    sent = record_documents(page)
    sign_in(page, served, email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Threads").click()
    expect(page.get_by_role("heading", name="Threads", level=1)).to_be_visible()
    expect(page.get_by_text("You have no threads yet")).to_be_visible(timeout=UI_TIMEOUT_MS)

    page.get_by_role("button", name="New thread").click()
    form = page.get_by_role("region", name="New thread")
    form.get_by_label("Agent", exact=True).select_option(agent_id)
    form.get_by_label("Title (optional)").fill("Greetings")
    assert accessibility_violations(page) == []
    form.get_by_role("button", name="Start thread").click()
    expect(page.get_by_role("heading", name="Thread Greetings", level=1)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    thread_id = _thread_id(page)
    expect(page.get_by_text("No messages yet: write the first below.")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Threads")).to_have_attribute("aria-current", "page")

    # Enter sends; the echo agent's answer is stored after the question.
    _send(page, "hello there")
    expect(_stored_items(page)).to_have_count(2, timeout=UI_TIMEOUT_MS)
    expect(_stored_items(page).nth(0)).to_contain_text("You")
    expect(_stored_items(page).nth(0)).to_contain_text("hello there")
    expect(_stored_items(page).nth(1)).to_contain_text("parrot")
    expect(_stored_items(page).nth(1)).to_contain_text("hello there")
    expect(_box(page)).to_have_value("")
    expect(_box(page)).to_be_focused()
    assert _said(served, token, thread_id) == [
        ("USER", "hello there"),
        ("ASSISTANT", "hello there"),
    ]
    shoot(page, "console-thread-echo")
    assert accessibility_violations(page) == []

    # Nothing to send: said at the box.
    page.get_by_role("button", name="Send", exact=True).click()
    expect(_box(page)).to_have_accessible_description(re.compile("Write a message first."))

    # The agent stopped: the refusal is said beside the box, the text comes back, and nothing
    # is stored.
    graphql(served, token, STOP_AGENT, {"id": agent_id})
    page.reload()
    expect(
        page.get_by_text("parrot is stopped: it answers only while it is running.")
    ).to_be_visible(timeout=UI_TIMEOUT_MS)
    _send(page, "anyone there?")
    composer = page.get_by_role("region", name="Your message")
    expect(composer.get_by_role("alert")).to_contain_text(
        "The agent could not answer", timeout=UI_TIMEOUT_MS
    )
    expect(_box(page)).to_have_value("anyone there?")
    expect(_stored_items(page)).to_have_count(2)
    assert len(_stored(served, token, thread_id)) == 2
    shoot(page, "console-thread-refused")

    # Listed, then deleted after a question: back to the agent's threads, none left.
    page.get_by_role("link", name="All threads").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Greetings"))
    expect(row).to_contain_text("parrot: hello there", timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("1 thread with all your agents", exact=True)).to_be_visible()
    assert accessibility_violations(page) == []
    row.get_by_role("link", name="Greetings").click()
    page.get_by_role("button", name="Delete thread Greetings").click()
    expect(page.get_by_text("Its messages are deleted with it.")).to_be_visible()
    page.get_by_role("button", name="Yes, delete thread").click()
    expect(page.get_by_text("You have no threads with this agent yet")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    assert graphql(served, token, THREADS, {"agentId": None})["threads"]["totalCount"] == 0
    sent.check_no_text()
    assert {"ThreadPageSend", "ThreadPageEvents", "ThreadsPageDelete"} <= sent.names()
    page_watch.check()
    page.context.close()


def _started_from_the_agents_page(page: Any, served: str, agent_id: str) -> str:
    from playwright.sync_api import expect

    page.goto(f"{served}/agents/{agent_id}")
    page.get_by_role("link", name="Its threads").click()
    expect(page.get_by_role("heading", name="Threads", level=1)).to_be_visible()
    page.get_by_role("button", name="New thread").click()
    form = page.get_by_role("region", name="New thread")
    expect(form.get_by_label("Agent", exact=True)).to_have_value(agent_id)
    form.get_by_role("button", name="Start thread").click()
    expect(page.get_by_role("heading", name="Untitled thread", level=1)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    return _thread_id(page)


def test_an_llm_answer_streams_in_is_stored_and_can_be_stopped(
    browser: Any, served: str, fake: FakeOpenAI
) -> None:
    from playwright.sync_api import expect

    email = "threads-llm@example.com"
    token = register(served, email)["accessToken"]
    page, page_watch = _open(browser, served)
    agent_id = _llm(page, served, token, fake, "writer")
    sign_in(page, served, email)
    thread_id = _started_from_the_agents_page(page, served, agent_id)

    # The answer comes chunk by chunk, then is shown as stored, with its tokens.
    _send(page, "count")
    answer = _answering(page)
    expect(answer).to_contain_text("one", timeout=UI_TIMEOUT_MS)
    assert "eight" not in answer.inner_text()
    expect(page.get_by_role("status").filter(has_text="writer is answering")).to_be_visible()
    expect(page.get_by_role("button", name="Stop answer")).to_be_visible()
    shoot(page, "console-thread-streaming")
    expect(_stored_items(page)).to_have_count(2, timeout=UI_TIMEOUT_MS)
    expect(_stored_items(page).nth(1)).to_contain_text(WHOLE.strip())
    expect(_stored_items(page).nth(1)).to_contain_text("8 tokens written")
    expect(page.get_by_role("button", name="Stop answer")).to_have_count(0)
    assert _said(served, token, thread_id) == [("USER", "count"), ("ASSISTANT", WHOLE)]

    # Stopped half way: kept as far as it got, marked interrupted.
    _send(page, "count again")
    expect(_answering(page)).to_contain_text("two", timeout=UI_TIMEOUT_MS)
    page.get_by_role("button", name="Stop answer").click()
    expect(_stored_items(page)).to_have_count(4, timeout=UI_TIMEOUT_MS)
    cut = _stored_items(page).nth(3)
    expect(cut.locator(".badge")).to_have_text("Interrupted")
    shoot(page, "console-thread-stopped")
    stored = _stored(served, token, thread_id)[3]
    assert stored["role"] == "ASSISTANT" and stored["interrupted"] is True, stored
    assert stored["content"].startswith("one two") and stored["content"] != WHOLE, stored
    expect(cut).to_contain_text(stored["content"].strip())
    assert accessibility_violations(page) == []
    page_watch.check()
    page.context.close()


def test_a_message_sent_while_the_thread_answers_waits_cuts_in_or_is_refused(
    browser: Any, served: str, fake: FakeOpenAI
) -> None:
    from playwright.sync_api import expect

    email = "threads-busy@example.com"
    token = register(served, email)["accessToken"]
    page, page_watch = _open(browser, served)
    agent_id = _llm(page, served, token, fake, "busy writer")
    input = {"agentId": agent_id, "title": "Overlaps"}
    thread_id = str(graphql(served, token, CREATE_THREAD, {"input": input})["createThread"]["id"])
    sign_in(page, served, email)
    page.goto(f"{served}/threads/{thread_id}")
    expect(page.get_by_role("heading", name="Thread Overlaps", level=1)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )

    # Sent while an answer is written: it waits for it.
    _send(page, "first")
    expect(_answering(page)).to_contain_text("one", timeout=UI_TIMEOUT_MS)
    _send(page, "second", "Send after the answer")
    expect(
        page.get_by_role("status").filter(has_text="it waits until busy writer has answered")
    ).to_be_visible()
    expect(_stored_items(page)).to_have_count(4, timeout=UI_TIMEOUT_MS)
    assert _said(served, token, thread_id) == [
        ("USER", "first"),
        ("ASSISTANT", WHOLE),
        ("USER", "second"),
        ("ASSISTANT", WHOLE),
    ]

    # Or cuts it short.
    _send(page, "long")
    expect(_answering(page)).to_contain_text("one", timeout=UI_TIMEOUT_MS)
    _send(page, "cut in", "Interrupt and send")
    expect(_stored_items(page)).to_have_count(8, timeout=UI_TIMEOUT_MS)
    later = _stored(served, token, thread_id)[4:]
    assert [(m["role"], m["content"]) for m in later][::2] == [("USER", "long"), ("USER", "cut in")]
    assert later[1]["interrupted"] is True and later[1]["content"] != WHOLE, later
    assert later[3]["interrupted"] is False and later[3]["content"] == WHOLE, later
    expect(_stored_items(page).nth(5).locator(".badge")).to_have_text("Interrupted")

    # Busy answering someone else: CONFLICT beside the box, then sent to wait its turn.
    elsewhere = threading.Thread(
        target=httpx.post,
        args=(f"{served}/graphql",),
        kwargs={
            "json": {"query": POST, "variables": {"threadId": thread_id, "content": "elsewhere"}},
            "headers": {"authorization": f"Bearer {token}"},
            "timeout": 60,
        },
    )
    elsewhere.start()
    _eventually(
        page, lambda: graphql(served, token, THREAD, {"id": thread_id})["thread"]["busy"], "busy"
    )
    _send(page, "me too")
    composer = page.get_by_role("region", name="Your message")
    expect(composer.get_by_role("alert")).to_contain_text(
        "The thread is answering another message", timeout=UI_TIMEOUT_MS
    )
    expect(_box(page)).to_have_value("me too")
    shoot(page, "console-thread-conflict")
    page.get_by_role("button", name="Send after the answer").click()
    expect(_stored_items(page)).to_have_count(12, timeout=UI_TIMEOUT_MS)
    elsewhere.join(30)
    assert _said(served, token, thread_id)[8:] == [
        ("USER", "elsewhere"),
        ("ASSISTANT", WHOLE),
        ("USER", "me too"),
        ("ASSISTANT", WHOLE),
    ]
    # Each stored message once, in the server's order.
    assert _texts(page)[8:] == ["elsewhere", WHOLE, "me too", WHOLE]
    page_watch.check()
    page.context.close()


def test_a_long_history_is_paged_back_to_its_start(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    email = "threads-history@example.com"
    token = register(served, email)["accessToken"]
    page, page_watch = _open(browser, served)
    agent_id = _running(page, served, token, "historian", "echo")
    thread_id = str(
        graphql(served, token, CREATE_THREAD, {"input": {"agentId": agent_id, "title": "Long"}})[
            "createThread"
        ]["id"]
    )
    for n in range(25):
        graphql(served, token, POST, {"threadId": thread_id, "content": f"m{n:02d}"})
    sign_in(page, served, email)
    page.goto(f"{served}/threads/{thread_id}")

    # The newest page: 20 messages, the newest at the bottom.
    items = _stored_items(page)
    expect(items).to_have_count(20, timeout=UI_TIMEOUT_MS)
    expect(items.last).to_contain_text("m24")
    expect(items.first).to_contain_text("m15")
    assert page.evaluate("window.scrollY") > 0  # scrolled down to the newest

    earlier = page.get_by_role("button", name="Load earlier messages")
    earlier.click()
    expect(items).to_have_count(40, timeout=UI_TIMEOUT_MS)
    expect(items.first).to_contain_text("m05")
    earlier.focus()
    page.keyboard.press("Enter")
    expect(items).to_have_count(50, timeout=UI_TIMEOUT_MS)
    expect(items.first).to_contain_text("m00")
    start = page.get_by_text("The start of the conversation.")
    expect(start).to_be_focused()
    expect(earlier).to_have_count(0)
    seqs = [int(s) for s in items.evaluate_all("(all) => all.map((li) => li.dataset.seq)")]
    assert seqs == sorted(seqs) and len(set(seqs)) == 50, seqs
    assert _texts(page) == [f"m{n // 2:02d}" for n in range(50)]
    shoot(page, "console-thread-history")
    assert accessibility_violations(page) == []

    # A new message follows on below the whole history.
    _send(page, "m25")
    expect(items).to_have_count(52, timeout=UI_TIMEOUT_MS)
    expect(items.last).to_contain_text("m25")
    expect(items.nth(50)).to_contain_text("m25")
    page_watch.check()
    page.context.close()
