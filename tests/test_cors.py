"""CORS (H2): pages on the origins the settings allow may call /graphql and /files/*
from a browser; any other origin gets exactly what it got before CORS existed, without a
single CORS header. The WebSocket handshake's Origin check (W1) decides from the same list:
generated origins, near misses of the allowed ones included, get one answer on both."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from websockets.exceptions import InvalidStatus

from kai.config import Settings
from kai.jwt_secret import UnsafeSettingsError
from kai.origins import BrowserOrigins
from tests.support.agents import signed_in
from tests.support.apps import running_app
from tests.support.browser import (
    browser,
    shoot,
    third_party_pages,
    watch,
)
from tests.support.console import register
from tests.support.servers import clean_env, kai_serve
from tests.support.settings import make_settings
from tests.support.subscriptions import kai_server
from tests.support.ws_client import ws_connect

ALLOWED = "https://app.example.test"
ALSO_ALLOWED = "http://localhost.example.test:5173"
QUERY = {"query": "{ __typename }"}

__all__ = ["browser"]  # a fixture


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def _without_noise(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    """What a response says, less what differs between two answers anyway."""
    headers = {
        k: v for k, v in response.headers.items() if k not in {"x-request-id", "date", "vary"}
    }
    return response.status_code, response.content, headers


@pytest.fixture
async def http(sqlite_url: str, tmp_path: Path) -> Any:
    settings_ = make_settings(sqlite_url, tmp_path, allowed_origins=[ALLOWED, ALSO_ALLOWED])
    async with running_app(settings_) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def _preflight(origin: str, path: str = "/graphql", **extra: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
        **extra,
    }


async def test_H2_an_allowed_origin_gets_a_preflight_and_reads_the_answer(http: Any) -> None:
    preflight = await http.options("/graphql", headers=_preflight(ALLOWED))

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-kai-csrf"} <= {
        h.strip() for h in allowed_headers.split(",")
    }
    assert "access-control-allow-credentials" not in preflight.headers  # bearer tokens only

    answer = await http.post("/graphql", json=QUERY, headers={"origin": ALLOWED})
    assert answer.json() == {"data": {"__typename": "Query"}}
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
    assert "Origin" in answer.headers["vary"]

    # Default ports and case: the browser's form of the same origin.
    upper = await http.post("/graphql", json=QUERY, headers={"origin": ALSO_ALLOWED.upper()})
    assert upper.headers.get("access-control-allow-origin") == ALSO_ALLOWED.upper()


async def test_H2_a_refused_origin_gets_what_it_got_before_with_no_cors_header(
    http: Any,
) -> None:
    for origin in ("https://evil.example.test", "null", f"{ALLOWED}.evil.test"):
        preflight = await http.options("/graphql", headers=_preflight(origin))
        without_origin = await http.options(
            "/graphql", headers={"access-control-request-method": "POST"}
        )
        assert _cors_headers(preflight) == {}
        assert _without_noise(preflight) == _without_noise(without_origin)
        assert preflight.status_code == 405  # as before CORS: /graphql takes GET and POST

        answer = await http.post("/graphql", json=QUERY, headers={"origin": origin})
        plain = await http.post("/graphql", json=QUERY)
        assert _cors_headers(answer) == {}
        assert _without_noise(answer) == _without_noise(plain)


async def test_H2_cors_covers_the_api_paths_only(http: Any) -> None:
    # A signed download is an API path (a bad signature is refused, readable by the page).
    download = await http.get("/files/f_missing?sig=x", headers={"origin": ALLOWED})
    assert download.headers["access-control-allow-origin"] == ALLOWED
    # The console and its assets are for pages of this server only.
    for path in ("/", "/agents", "/healthz"):
        response = await http.get(path, headers={"origin": ALLOWED})
        assert _cors_headers(response) == {}, path


async def test_H2_any_origin_only_in_development(sqlite_url: str, tmp_path: Path) -> None:
    anywhere = make_settings(sqlite_url, tmp_path, allowed_origins=["*"])
    async with running_app(anywhere) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.post("/graphql", json=QUERY, headers={"origin": "https://x.io"})
    assert answer.headers["access-control-allow-origin"] == "https://x.io"

    with pytest.raises(UnsafeSettingsError, match="KAI_ALLOWED_ORIGINS must name origins"):
        make_settings(sqlite_url, tmp_path, env="production", allowed_origins=["*"])
    with pytest.raises(ValueError, match="development only"):
        BrowserOrigins.configured(public_url="", allowed_origins=["*"], development=False)


def test_H2_an_entry_that_is_not_an_origin_is_a_settings_error() -> None:
    for entry in ("https://app.example.test/console", "app.example.test", "https://a.test?x=1"):
        with pytest.raises(ValidationError, match="allowed_origins"):
            Settings(allowed_origins=[entry])


# --- generated origins: one decision for CORS and the WebSocket handshake -------------

HOSTS = ["app.example.test", "localhost.example.test", "example.test", "evil.test"]


@st.composite
def origins(draw: st.DrawFn) -> str:
    """Origins near the allowed ones: other schemes, ports, cases, suffixes and prefixes
    of the host, user info, paths; and now and then arbitrary text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(min_size=1, max_size=40).filter(lambda s: s.isprintable()))
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "ws", "file"]))
    host = draw(st.sampled_from(HOSTS))
    host = draw(st.sampled_from([host, host.upper(), f"{host}.evil.test", f"x{host}", f"a.{host}"]))
    port = draw(st.sampled_from(["", ":443", ":80", ":5173", ":8443"]))
    userinfo = draw(st.sampled_from(["", "", "", "user@"]))
    tail = draw(st.sampled_from(["", "", "", "/", "/path"]))
    return f"{scheme}://{userinfo}{host}{port}{tail}"


def _expected(origin: str) -> bool:
    """The model: scheme, host and port equal to an allowed origin's, once written as a
    browser writes them; nothing else."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    if parts.username or parts.path not in {"", "/"} or parts.query or parts.fragment:
        return False
    scheme = parts.scheme.lower()
    port = port or {"https": 443, "http": 80}.get(scheme)
    candidates = {("https", "app.example.test", 443), ("http", "localhost.example.test", 5173)}
    return (scheme, (parts.hostname or "").lower(), port) in candidates


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(origin=origins())
def test_H2_generated_origins_match_the_model(origin: str) -> None:
    policy = BrowserOrigins.configured(
        public_url="https://kai.example.test",
        allowed_origins=[ALLOWED, ALSO_ALLOWED],
        development=False,
    )
    assert policy.allows(origin) is _expected(origin), origin


async def test_H2_W1_cors_and_the_handshake_decide_alike(sqlite_url: str, tmp_path: Path) -> None:
    samples = [
        ALLOWED,
        ALSO_ALLOWED,
        "https://APP.example.test:443",
        "http://app.example.test",
        "https://app.example.test:8443",
        "https://app.example.test.evil.test",
        "https://evil.test",
        "null",
    ]
    async with kai_server(
        sqlite_url, tmp_path, allowed_origins=[ALLOWED, ALSO_ALLOWED], env="development"
    ) as server:
        token = await signed_in(server.client)
        for origin in samples:
            answer = await server.client.http.post(
                "/graphql", json=QUERY, headers={"origin": origin}
            )
            cors = "access-control-allow-origin" in answer.headers
            refusal: int | None = None
            try:
                async with ws_connect(
                    server.url, "graphql-transport-ws", token=token, origin=origin
                ) as ws:
                    await ws.alive()
            except InvalidStatus as refused:
                refusal = refused.response.status_code
            assert refusal in {None, 403}, (origin, refusal)
            assert cors == (refusal is None) == _expected(origin), origin


# --- in a real browser: a page on another origin --------------------------------------

THIRD_PARTY_PAGE = """<!doctype html><title>another origin</title><pre id="out">…</pre>
<script>
const api = new URLSearchParams(location.search).get("api");
const token = new URLSearchParams(location.search).get("token");
const results = {};
async function viaHttp() {
  try {
    const response = await fetch(api + "/graphql", {
      method: "POST",
      headers: {"content-type": "application/json", authorization: "Bearer " + token},
      body: JSON.stringify({query: "{ me { email } }"}),
    });
    results.http = {email: (await response.json()).data.me.email,
                    requestId: response.headers.get("x-request-id")};
  } catch (error) { results.http = {refused: String(error)}; }
}
function viaSocket() {
  return new Promise((resolve) => {
    const socket = new WebSocket(api.replace("http", "ws") + "/graphql", "graphql-transport-ws");
    socket.onopen = () => socket.send(JSON.stringify(
      {type: "connection_init", payload: {authorization: "Bearer " + token}}));
    socket.onmessage = (m) => {
      results.socket = JSON.parse(m.data).type;
      socket.close();
      resolve();
    };
    socket.onclose = (e) => { results.socket ??= "closed " + e.code; resolve(); };
  });
}
Promise.all([viaHttp(), viaSocket()]).then(() => {
  document.getElementById("out").textContent = JSON.stringify(results, null, 2);
  window.results = results;
});
</script>"""


@pytest.mark.slow
def test_H2_a_page_on_an_allowed_origin_uses_the_api_and_another_cannot(
    browser: Any, tmp_path: Path
) -> None:
    with third_party_pages(THIRD_PARTY_PAGE) as page_port:
        allowed = f"http://app.test:{page_port}"
        env = clean_env(
            KAI_ENV="development", KAI_DATA_DIR=str(tmp_path), KAI_ALLOWED_ORIGINS=allowed
        )
        with kai_serve(env) as (url, _process):
            api = url.replace("127.0.0.1", "kai.test")
            token = register(url, "cors@example.com")["accessToken"]
            seen: dict[str, Any] = {}
            for name, origin in (
                ("allowed", allowed),
                ("refused", f"http://evil.test:{page_port}"),
            ):
                context = browser.new_context()
                page_watch = watch(context, origin, api)
                page = context.new_page()
                page.goto(f"{origin}/?{urlencode({'api': api, 'token': token})}")
                page.wait_for_function("window.results !== undefined")
                seen[name] = page.evaluate("window.results")
                shoot(page, f"cors-{name}")
                page_watch.check()
                context.close()

    assert seen["allowed"]["http"]["email"] == "cors@example.com"
    assert seen["allowed"]["http"]["requestId"]  # exposed to the page
    assert seen["allowed"]["socket"] == "connection_ack"
    assert "refused" in seen["refused"]["http"]  # the browser kept the answer from the page
    assert seen["refused"]["socket"].startswith("closed")  # 403 on the handshake
