"""What `kai serve` answers for the console and GraphiQL, over HTTP: the console's page at its
own paths (and no others), with a strict Content-Security-Policy; its assets cached for good
under content-hashed names; GraphiQL's page at GET /graphql for a browser. What a person sees
of them is tested in Chromium (tests/test_console_*.py, tests/test_graphiql.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.console_size import BUDGET_BYTES, first_load
from kai.routes.console import (
    BUILD_DIR,
    CONSOLE_SECTIONS,
    CONSOLE_SECTIONS_WITH_PAGES,
    CONTENT_SECURITY_POLICY,
    is_console_path,
)
from tests.support.apps import running_app
from tests.support.settings import make_settings

CONSOLE_PATHS = (
    "/",
    "/sign-in",
    "/magic-link",
    "/agents",
    "/agents/agt_1",
    "/schedules",
    "/schedules/sch_1",
    "/webhooks",
    "/webhooks/whk_1",
    "/threads",
    "/threads/thr_1",
    "/approvals",
    "/approvals/apr_1",
    "/admin/audit",
)
NOT_CONSOLE_PATHS = (
    "/nope",
    "/agents/",
    "/schedules/",
    "/webhooks/",
    "/threads/",
    "/approvals/",
    "/files/x/",
    "/graphql/",
    "/healthz/",
    "/sign-in/x",
)


@pytest.fixture
async def http(sqlite_url: str, tmp_path: Path) -> Any:
    async with running_app(make_settings(sqlite_url, tmp_path)) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_the_console_page_answers_its_own_paths_only(http: Any) -> None:
    page = (BUILD_DIR / "index.html").read_bytes()
    for path in CONSOLE_PATHS:
        response = await http.get(path)
        assert response.status_code == 200, path
        assert response.content == page
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["referrer-policy"] == "no-referrer"  # a magic link's token
        assert response.headers["x-frame-options"] == "DENY"
    for path in NOT_CONSOLE_PATHS:
        response = await http.get(path)
        assert response.status_code == 404, path
        assert b"kAI console" not in response.content


async def test_the_pages_load_only_this_servers_own_assets(http: Any) -> None:
    for name in ("index.html", "graphiql.html"):
        html = (BUILD_DIR / name).read_text()
        # No script, style or anything else from another host: the CSP would refuse it.
        references = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert references, name
        for reference in references:
            if reference.startswith("data:"):
                continue
            assert reference.startswith("/assets/"), (name, reference)
            asset = await http.get(reference)
            assert asset.status_code == 200, reference
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await http.get("/assets/not-built.js")).status_code == 404


async def test_graphiql_is_the_page_a_browser_gets_at_graphql(http: Any) -> None:
    page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.content == (BUILD_DIR / "graphiql.html").read_bytes()
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    # A client asking for JSON still gets the API.
    answer = await http.post("/graphql", json={"query": "{ __typename }"})
    assert answer.json() == {"data": {"__typename": "Query"}}


def test_the_consoles_first_load_is_within_its_budget() -> None:
    # Bytes, not time: bench/console_size.py prints the same figures with each file.
    assets = first_load("index.html")
    assert assets, "index.html names no script"
    assert sum(asset.gzipped for asset in assets) <= BUDGET_BYTES
    # GraphiQL (Monaco and all) stays on its own page.
    graphiql_only = {a.path for a in first_load("graphiql.html")} - {a.path for a in assets}
    assert graphiql_only


def test_the_server_and_the_consoles_router_agree_on_its_paths() -> None:
    # The route table in console/src/app/App.tsx: `{ path: "/agents/:id", page: ... }`.
    app = (Path(__file__).parent.parent / "console" / "src" / "app" / "App.tsx").read_text()
    routes = re.findall(r'\{ path: "(/[^"]*)"', app)
    assert len(routes) >= 10, routes
    for route in routes:
        path = re.sub(r":\w+", "x_1", route).lstrip("/")
        assert is_console_path(path), f"the server answers 404 for the console's {route}"
    # Every section the server serves has a page (else a person lands on "Page not found").
    sections = {route.lstrip("/").split("/")[0] for route in routes} | {""}
    assert sections == CONSOLE_SECTIONS | CONSOLE_SECTIONS_WITH_PAGES
