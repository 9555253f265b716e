"""Helpers for the console's browser tests: an account made over HTTP, signing in through
the console's own sign-in form, and a record of how a page named the documents it sent
(tests/support/browser.py has the browser and the server)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.support.graphql_client import DEFAULT_PASSWORD, REGISTER

# How long a console page may take to show what a test waits for (a sign-in, a live event).
UI_TIMEOUT_MS = 15_000


def register(
    base_url: str, email: str, password: str = DEFAULT_PASSWORD, display_name: str | None = None
) -> dict[str, Any]:
    """Registers `email` over HTTP; returns the AuthPayload dict (accessToken, refreshToken,
    expiresAt, user {id email role})."""
    variables = {"input": {"email": email, "password": password, "displayName": display_name}}
    response = httpx.post(
        f"{base_url}/graphql", json={"query": REGISTER, "variables": variables}, timeout=30
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return dict(body["data"]["register"])


def register_admin(base_url: str, email: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    """Registers the server's first account, which kAI makes ADMIN; returns its AuthPayload
    dict. Fails when the server already had an account (the new one would be a USER)."""
    payload = register(base_url, email, password)
    assert payload["user"]["role"] == "ADMIN", (
        f"{email} is {payload['user']['role']}: only a server's first account becomes ADMIN"
    )
    return payload


def graphql(
    base_url: str, token: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Runs `query` over HTTP as the holder of `token`; returns `data` (errors fail the test)."""
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return dict(body["data"])


def sign_in(page: Any, base_url: str, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """Signs in through the console's sign-in form, as a person would (by the fields' labels),
    and waits until the console shows the signed-in user in its header."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/sign-in")
    form = page.get_by_role("region", name="With your password")
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.locator("header")).to_contain_text(email.lower(), timeout=UI_TIMEOUT_MS)
    page.wait_for_url(re.compile(r"^(?!.*/sign-in).*$"), timeout=UI_TIMEOUT_MS)


SHA256_ID = re.compile(r"sha256:[0-9a-f]{64}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_OPERATIONS_PART = re.compile(
    rb'name="operations"\r\n(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n--', flags=re.DOTALL
)


@dataclass
class SentDocuments:
    """What a page sent to name each GraphQL document: a JSON body (POST, graphql-sse), a
    multipart upload's `operations`, a GET's parameters, a graphql-transport-ws subscribe
    message's payload; `how` says how each named its document."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def add(self, sent: dict[str, Any], where: str) -> None:
        self.requests.append(sent)
        if sent.get("query"):  # a document's text (graphql-ws wants a string: "" is none)
            self.texts.append(f"{where}: {json.dumps(sent)[:300]}")

    def how(self) -> list[str]:
        """For each request: "documentId" or "sha256Hash", or "text" / "nothing"."""
        return [_naming(sent) for sent in self.requests]

    def names(self) -> set[str]:
        """The operations named, as the requests said (operationName)."""
        return {str(sent.get("operationName")) for sent in self.requests}

    def check_no_text(self) -> None:
        assert self.requests, "no GraphQL request was recorded"
        assert not self.texts, f"documents sent as text: {self.texts}"
        assert "nothing" not in self.how(), self.requests


def _naming(sent: dict[str, Any]) -> str:
    if sent.get("query"):
        return "text"
    if isinstance(sent.get("documentId"), str) and SHA256_ID.fullmatch(sent["documentId"]):
        return "documentId"
    extensions = sent.get("extensions") or {}
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    hash_ = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    return "sha256Hash" if isinstance(hash_, str) and SHA256_HEX.fullmatch(hash_) else "nothing"


def record_documents(page: Any) -> SentDocuments:
    """Records every GraphQL request `page` sends from now on (HTTP to /graphql, and every
    frame over its WebSockets), as the server reads them."""
    sent = SentDocuments()

    def on_request(request: Any) -> None:
        url = urlsplit(request.url)
        if url.path != "/graphql":
            return
        if request.method == "GET":
            params = dict(parse_qsl(url.query))
            for name in ("variables", "extensions"):
                if name in params:
                    params[name] = json.loads(params[name])
            sent.add(params, f"GET {request.url}")
            return
        body = request.post_data_buffer or b""
        content_type = request.headers.get("content-type") or ""
        if content_type.startswith("multipart/form-data"):
            found = _OPERATIONS_PART.search(body)
            assert found, f"a multipart request without operations: {body[:300]!r}"
            body = found.group(1)
        sent.add(json.loads(body), f"POST ({content_type})")

    def on_socket(socket: Any) -> None:
        def on_frame(payload: str | bytes) -> None:
            message = json.loads(payload)
            if message.get("type") in {"subscribe", "start"}:
                sent.add(message.get("payload") or {}, f"WebSocket {socket.url}")

        socket.on("framesent", on_frame)

    page.on("request", on_request)
    page.on("websocket", on_socket)
    return sent
