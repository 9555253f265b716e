"""CSRF: a multipart POST (an upload) must carry proof that no hostile page forged it (G9)."""

from __future__ import annotations

from starlette.requests import Request

# Headers a browser cannot send cross-site without a CORS preflight (G9).
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "x-kai-csrf")
CSRF_REFUSAL = (
    "Multipart requests need an Authorization header or one of these headers: "
    + ", ".join(PREFLIGHT_HEADERS)
    + " (CSRF protection)."
)


def csrf_safe(request: Request) -> bool:
    """A multipart POST is a "simple" request a hostile page can make a browser send
    with the user's ambient credentials; one with a bearer token or a non-simple
    header cannot be forged that way (G9)."""
    if request.method != "POST":
        return True
    if not request.headers.get("content-type", "").lower().startswith("multipart/"):
        return True
    headers = request.headers
    return bool(headers.get("authorization")) or any(name in headers for name in PREFLIGHT_HEADERS)
