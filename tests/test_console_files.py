"""The console's Files page in a real Chromium against a real `kai serve`: files uploaded from the
form (a GraphQL multipart request over XMLHttpRequest, with the bearer token the server's CSRF
rule asks for) show a progress bar that moves and ends full; the list shows each file's scan
status and SHA-256; a download through the freshly signed URL gives back the very bytes; search
finds a file's passage with its score; a file the server refuses says why; a deleted file is
gone from the list and from search. The list is filtered (by agent, by name) and sorted by the
server, says how many files there are in all, and grows with "Load more"."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
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
from tests.support.console import UI_TIMEOUT_MS, graphql, register, sign_in

__all__ = ["browser", "served"]  # fixtures

pytestmark = pytest.mark.slow

NOTES = b"Kubernetes pod crashed out of memory during the night shift; the node was drained.\n"
RECIPE = b"Whisk the eggs with sugar, then fold in the flour and bake for thirty minutes.\n"
# A PNG by its magic number, big enough that a throttled upload reports progress on the way.
PICTURE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(1_200_000)
# GIF is not among KAI_ALLOWED_MIME_TYPES' defaults.
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
FILES = "{ files(first: 500) { edges { node { id originalName checksum } } } }"
CREATE_AGENT = "mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }"
UPLOAD = """
mutation($file: Upload!, $agentId: ID) { uploadFile(file: $file, agentId: $agentId) { id } }
"""


def _open(browser: Any, url: str, width: int = 1280) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page_watch = watch(context, url)
    return context.new_page(), page_watch


def _files(url: str, token: str) -> list[dict[str, Any]]:
    return [edge["node"] for edge in graphql(url, token, FILES)["files"]["edges"]]


def _upload(url: str, token: str, name: str, body: bytes, agent_id: str | None = None) -> None:
    """Uploads over HTTP, as a GraphQL multipart request."""
    operations = {"query": UPLOAD, "variables": {"file": None, "agentId": agent_id}}
    response = httpx.post(
        f"{url}/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, body, "text/plain")},
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    )
    answer = response.json()
    assert response.status_code == 200 and not answer.get("errors"), answer


def _file_item(page: Any, name: str) -> Any:
    listing = page.get_by_role("list", name="Files")
    return listing.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=name, exact=True)
    )


def _download(page: Any, item: Any, name: str) -> tuple[str, bytes]:
    with page.expect_download(timeout=UI_TIMEOUT_MS) as info:
        item.get_by_role("button", name=f"Download {name}").click()
    download = info.value
    assert download.suggested_filename == name
    return download.url, Path(download.path()).read_bytes()


def _search(page: Any, query: str, wanted: str) -> Any:
    """Searches until `wanted` is the first hit (files are indexed a moment after upload);
    returns the first hit's list item."""
    from playwright.sync_api import expect

    page.get_by_label("Look for").fill(query)
    hits = page.get_by_role("list", name=f"Passages matching “{query}”")
    deadline = time.monotonic() + 60
    while True:
        page.get_by_role("button", name="Search", exact=True).click()
        answer = page.get_by_text(f"Nothing in your files matches “{query}”.").or_(hits)
        expect(answer).to_be_visible(timeout=UI_TIMEOUT_MS)
        first = hits.get_by_role("listitem").first
        if hits.is_visible() and wanted in first.inner_text():
            return first
        assert time.monotonic() < deadline, f"search never found {wanted}"
        page.wait_for_timeout(500)


def test_upload_with_progress_download_search_and_delete(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    email = "files-owner@example.com"
    token = register(served, email)["accessToken"]
    page, page_watch = _open(browser, served)
    uploads: list[dict[str, str]] = []

    def record_uploads(request: Any) -> None:
        content_type = request.headers.get("content-type") or ""
        if request.method == "POST" and content_type.startswith("multipart/form-data"):
            uploads.append(request.headers)

    page.on("request", record_uploads)
    sign_in(page, served, email)
    page.goto(f"{served}/files")
    expect(page.get_by_text("No files yet.")).to_be_visible(timeout=UI_TIMEOUT_MS)

    # About 400 KB/s up: the picture takes some three seconds, reported on the way.
    devtools = page.context.new_cdp_session(page)
    devtools.send("Network.enable")
    devtools.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 400_000},
    )
    page.get_by_label("Files to upload").set_input_files(
        [
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": NOTES},
            {"name": "recipe.txt", "mimeType": "text/plain", "buffer": RECIPE},
            {"name": "picture.png", "mimeType": "image/png", "buffer": PICTURE},
        ]
    )
    page.get_by_role("button", name="Upload 3 files").click()
    bar = page.get_by_role("progressbar", name="Upload of picture.png")
    expect(bar).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.wait_for_function(
        "(bar) => bar.value > 0 && bar.value < bar.max",
        arg=bar.element_handle(),
        timeout=UI_TIMEOUT_MS,
    )
    shoot(page, "console-files-uploading")
    page.wait_for_function(
        "(bar) => bar.value === bar.max", arg=bar.element_handle(), timeout=30_000
    )
    assert bar.get_attribute("max") == str(len(PICTURE))
    uploads_list = page.get_by_role("list", name="Uploads")
    for name in ("notes.txt", "recipe.txt", "picture.png"):
        expect(
            uploads_list.get_by_role("listitem").filter(has_text=f"Upload of {name}")
        ).to_contain_text("Uploaded:", timeout=30_000)
    devtools.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    # Each upload went with the signed-in session's bearer token (the server refuses
    # multipart POSTs without one): the token is this user's.
    assert len(uploads) == 3, uploads
    bearers = {headers.get("authorization", "") for headers in uploads}
    assert len(bearers) == 1 and next(iter(bearers)).startswith("Bearer "), bearers
    me = graphql(served, next(iter(bearers)).removeprefix("Bearer "), "{ me { email } }")
    assert me["me"]["email"] == email

    # The list: scan status in words and the SHA-256 the server computed.
    notes_item = _file_item(page, "notes.txt")
    expect(notes_item).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(notes_item).to_contain_text("Not scanned (no virus scanner on this server)")
    expect(notes_item.locator("code.checksum")).to_have_text(hashlib.sha256(NOTES).hexdigest())
    picture_item = _file_item(page, "picture.png")
    expect(picture_item.locator("code.checksum")).to_have_text(hashlib.sha256(PICTURE).hexdigest())
    expect(picture_item).to_contain_text("image/png")
    listed = _files(served, token)
    assert {f["originalName"] for f in listed} == {"notes.txt", "recipe.txt", "picture.png"}
    expect(page.get_by_text("3 files in all", exact=True)).to_be_visible()
    shoot(page, "console-files-list")

    # Downloads through the signed URL give back the very bytes.
    url, body = _download(page, notes_item, "notes.txt")
    assert re.search(r"/files/[^/?]+\?expires=\d+&signature=", url), url
    assert url.startswith(served), url
    assert body == NOTES
    _, picture_body = _download(page, picture_item, "picture.png")
    assert picture_body == PICTURE

    # Search by meaning: the incident note first, with its passage and score.
    hit = _search(page, "container ran out of RAM", "notes.txt")
    expect(hit).to_contain_text("Kubernetes pod crashed out of memory")
    expect(hit).to_contain_text(re.compile(r"score -?\d+\.\d{3}"))
    shoot(page, "console-files-search")

    # Delete, confirmed: gone from the list, the server and the search.
    notes_item.get_by_role("button", name="Delete notes.txt").click()
    expect(notes_item).to_contain_text("Delete notes.txt? Its bytes and its search passages")
    notes_item.get_by_role("button", name="Yes, delete").click()
    expect(_file_item(page, "notes.txt")).to_have_count(0, timeout=UI_TIMEOUT_MS)
    listed = _files(served, token)
    assert "notes.txt" not in {f["originalName"] for f in listed}
    expect(page.get_by_text("2 files in all", exact=True)).to_be_visible()
    page.get_by_role("button", name="Search", exact=True).click()
    hits = page.get_by_role("list", name="Passages matching “container ran out of RAM”")
    expect(hits.or_(page.get_by_text("Nothing in your files matches"))).to_be_visible()
    expect(hits.get_by_text("notes.txt")).to_have_count(0)
    assert accessibility_violations(page) == []
    page_watch.check()
    page.context.close()


def test_a_refused_upload_says_why_and_the_page_fits_a_phone(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    email = "files-phone@example.com"
    token = register(served, email)["accessToken"]
    page, page_watch = _open(browser, served, width=360)
    sign_in(page, served, email)
    page.goto(f"{served}/files")
    upload = page.get_by_role("button", name="Upload", exact=True)
    expect(upload).to_be_visible(timeout=UI_TIMEOUT_MS)

    # Nothing chosen: said at the field, nothing sent.
    upload.click()
    expect(page.get_by_text("Choose at least one file.")).to_be_visible()

    page.get_by_label("Files to upload").set_input_files(
        [{"name": "tiny.gif", "mimeType": "image/gif", "buffer": GIF}]
    )
    upload.click()
    item = page.get_by_role("list", name="Uploads").get_by_role("listitem")
    expect(item).to_contain_text("Not uploaded", timeout=UI_TIMEOUT_MS)
    expect(item.get_by_role("alert")).to_contain_text("That type of content is not accepted.")
    assert _files(served, token) == []
    assert not overflows_horizontally(page)
    shoot(page, "console-files-refused-phone")
    assert accessibility_violations(page) == []
    page_watch.check()
    page.context.close()


def test_the_list_is_filtered_sorted_and_loaded_a_page_at_a_time(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    email = "files-many@example.com"
    token = register(served, email)["accessToken"]
    shelf = graphql(served, token, CREATE_AGENT, {"input": {"name": "shelf", "type": "echo"}})
    shelf_id = shelf["createAgent"]["id"]
    for n in range(22):
        _upload(served, token, f"report-{n:02}.txt", f"Report number {n}.\n".encode())
    for n in range(3):
        _upload(served, token, f"shelf-{n:02}.txt", f"Shelf note {n}.\n".encode(), shelf_id)
    page, page_watch = _open(browser, served)
    sign_in(page, served, email)
    page.goto(f"{served}/files")
    listing = page.get_by_role("list", name="Files")
    cards = listing.get_by_role("listitem")
    headings = listing.get_by_role("heading")

    # A page of 20, newest first, and how many there are in all.
    expect(page.get_by_text("25 files in all", exact=True)).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(cards).to_have_count(20)
    expect(headings.first).to_have_text("shelf-02.txt")
    expect(page.get_by_text("20 of 25 files shown")).to_be_visible()
    more = page.get_by_role("button", name="Load more files")
    more.click()
    expect(cards).to_have_count(25, timeout=UI_TIMEOUT_MS)
    expect(headings.last).to_have_text("report-00.txt")
    expect(page.get_by_text("All 25 files shown")).to_be_visible()
    # The button is gone with nothing more to load; the focus it had went to the count.
    expect(more).to_have_count(0)
    expect(page.get_by_text("All 25 files shown")).to_be_focused()
    shoot(page, "console-files-all-loaded")

    # The server sorts: by name, from the first page again.
    page.get_by_label("Order").select_option(label="Name, A to Z")
    expect(headings.first).to_have_text("report-00.txt", timeout=UI_TIMEOUT_MS)
    expect(cards).to_have_count(20)
    expect(headings.last).to_have_text("report-19.txt")
    page.get_by_role("button", name="Load more files").click()
    expect(headings.last).to_have_text("shelf-02.txt", timeout=UI_TIMEOUT_MS)

    # And filters: by name, then by agent.
    page.get_by_label("Name contains").fill("SHELF")
    expect(page.get_by_text("3 files match these filters", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    expect(cards).to_have_count(3)
    expect(page.get_by_role("button", name="Load more files")).to_have_count(0)
    page.get_by_label("Name contains").fill("report-1")
    expect(page.get_by_text("10 files match these filters", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    page.get_by_label("Name contains").fill("")
    page.get_by_label("Show the files of").select_option(label="shelf")
    expect(page.get_by_text("3 files match these filters", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    for card in cards.all():
        expect(card).to_contain_text(re.compile(r"Agent\s*shelf"))
    page.get_by_label("Name contains").fill("report")
    expect(page.get_by_text("No file matches these filters.")).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert accessibility_violations(page) == []

    # The agent's page links to its files: the list opens on them.
    page.goto(f"{served}/agents/{shelf_id}")
    page.get_by_role("link", name="Its files on the Files page").click()
    expect(page.get_by_label("Show the files of")).to_have_value(shelf_id, timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("3 files match these filters", exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    shoot(page, "console-files-of-an-agent")
    page_watch.check()
    page.context.close()
