"""The console at `/` (and its client-side paths), GraphiQL's page, and the files they load
from `/assets/`: all built from console/ into kai/console/ and shipped inside the package,
so that a fresh install serves them with no Node.js and no request leaves the machine."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

BUILD_DIR = Path(__file__).resolve().parent.parent / "console"

# The console's own paths (its client-side router's): each serves the console's page,
# which then shows the section. Sections with pages below them (/agents/<id>) take
# sub-paths; /files does not, since /files/<id> is the API's signed download. Anything
# else, a trailing slash included, stays a 404: a mistyped API path gets no page.
CONSOLE_SECTIONS = frozenset(
    {"", "sign-in", "register", "magic-link", "tasks", "files", "api-keys"}
)
CONSOLE_SECTIONS_WITH_PAGES = frozenset(
    {"agents", "admin", "schedules", "webhooks", "threads", "approvals"}
)


def is_console_path(path: str) -> bool:
    """`path` without its leading slash."""
    if path in CONSOLE_SECTIONS or path in CONSOLE_SECTIONS_WITH_PAGES:
        return True
    section, _, rest = path.partition("/")
    return section in CONSOLE_SECTIONS_WITH_PAGES and bool(rest) and not path.endswith("/")


# No script, style, frame or connection from anywhere but this origin; no page may frame
# the console (clickjacking); the URL (a magic link's token) is never sent as a Referer.
# 'unsafe-inline' styles: React and Monaco set style attributes; scripts stay strict.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    )
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # A page is small and names the current hashed assets: always ask again.
    "cache-control": "no-cache",
}


@cache
def _page(name: str) -> bytes | None:
    path = BUILD_DIR / name
    return path.read_bytes() if path.is_file() else None


def page_response(name: str) -> Response:
    body = _page(name)
    if body is None:
        return HTMLResponse(
            f"<!doctype html><title>kAI</title><p>This install has no built {name}: "
            "run <code>npm ci && npm run build</code> in console/.</p>",
            status_code=404,
            headers=PAGE_HEADERS,
        )
    return HTMLResponse(body, headers=PAGE_HEADERS)


def graphiql_page() -> Response:
    return page_response("graphiql.html")


async def console_page(request: Request) -> Response:
    if not is_console_path(request.path_params.get("path", "")):
        raise HTTPException(404)
    return page_response("index.html")


class BuiltAssets(StaticFiles):
    """The build's files under /assets/. Their names carry a hash of their content, so a
    browser may keep each for a year; a new build has new names."""

    def __init__(self) -> None:
        super().__init__(directory=BUILD_DIR / "assets", check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 200:
                headers = MutableHeaders(scope=message)
                headers["cache-control"] = "public, max-age=31536000, immutable"
                headers["x-content-type-options"] = "nosniff"
            await send(message)

        await super().__call__(scope, receive, send_cached)
