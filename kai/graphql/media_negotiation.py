"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): which media type
an HTTP answer is encoded in, chosen from the request's Accept header, and the status code
that goes with each.

Why a module of its own: the two JSON media types say different things with the same body.
`application/graphql-response+json` declares the body a GraphQL response whatever the status,
so the status can tell what happened, for proxies, logs and metrics too: 200 when the
operation ran (field errors included), 4xx or 5xx for a request error, when nothing ran and
the body has no `data`. `application/json` is what every client got before this media type
existed, and what curl, fetch and httpx still get (Accept: */* or none): there any GraphQL
response is a 200 and a 4xx cannot be told from a proxy's, so its status codes and bodies
stay as they were. A client that accepts neither gets 406. A client that prefers
text/event-stream gets graphql-sse's stream (kai.graphql.sse_negotiation), and any refusal
before it in the application/json shape, as before.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from kai.errors import ErrorCode
from kai.graphql.sse_negotiation import prefers_event_stream


class NotARequestObject(json.JSONDecodeError):
    """JSON that parses, but is not a GraphQL request (an object) or a map of variables:
    a request that is not well-formed (422 over application/graphql-response+json), not
    a body that cannot be read (400)."""


class Media(enum.StrEnum):
    JSON = "application/json"
    GRAPHQL_RESPONSE = "application/graphql-response+json"


# The Content-Type of each. The spec asks for the charset on its own type; RFC 8259 defines
# none for application/json, which keeps the header it always had.
CONTENT_TYPES = {
    Media.JSON: "application/json",
    Media.GRAPHQL_RESPONSE: "application/graphql-response+json; charset=utf-8",
}
NOT_ACCEPTABLE = (
    "Not Acceptable: list application/graphql-response+json or application/json in Accept."
)
UTF8 = frozenset({"utf-8", "utf8"})


@dataclass(frozen=True)
class _Range:
    """One media range of an Accept header (RFC 9110, 12.5.1)."""

    media: str  # "type/subtype", "type/*" or "*/*", lower case
    quality: float
    position: int
    utf8: bool  # no charset parameter, or UTF-8: the only encoding kAI answers in

    def specificity(self, media: Media) -> int | None:
        """How specifically this range names `media` (2: exactly; 1: type/*; 0: */*), or
        None when it does not (a charset other than UTF-8 never does)."""
        if not self.utf8:
            return None
        if self.media == media.value:
            return 2
        if self.media == media.value.split("/")[0] + "/*":
            return 1
        return 0 if self.media == "*/*" else None


def _ranges(accept: str) -> list[_Range]:
    ranges = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        if media.count("/") != 1:
            continue  # not a media range: ignored, like any other junk
        quality, utf8 = 1.0, True
        for param in params:
            name, _, value = (piece.strip().lower() for piece in param.partition("="))
            if name == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
            elif name == "charset":
                utf8 = value.strip('"') in UTF8
        ranges.append(_Range(media.lower(), quality, position, utf8))
    return ranges


def _preference(ranges: list[_Range], media: Media) -> tuple[float, bool, int] | None:
    """(quality, named exactly, -position) of `media` by its most specific range (RFC 9110:
    a more specific range overrides a wider one), or None when no range accepts it."""
    named = [(level, r) for r in ranges if (level := r.specificity(media)) is not None]
    if not named:
        return None
    level, best = max(named, key=lambda found: (found[0], found[1].quality))
    if best.quality <= 0:
        return None
    return best.quality, level == 2, -best.position


def negotiate(accept: str | None) -> Media | None:
    """The media type to answer in, or None when Accept allows neither (406).

    The highest quality wins; on a tie the type the header names (rather than through a
    wildcard), then the one it lists first; when a wildcard alone accepts both (*/*), or
    there is no Accept header, application/json, as before.
    """
    if accept is None or not accept.strip():
        return Media.JSON
    ranges = _ranges(accept)
    choice: tuple[tuple[float, bool, int], Media] | None = None
    for media in (Media.JSON, Media.GRAPHQL_RESPONSE):  # JSON first: it wins exact ties
        preference = _preference(ranges, media)
        if preference is not None and (choice is None or preference > choice[0]):
            choice = (preference, media)
    return None if choice is None else choice[1]


def answer_media(method: str, accept: str | None, *, has_query: bool) -> Media | None:
    """`negotiate`, for a request to /graphql: a client that prefers an event stream, and a
    GET without a query (GraphiQL's page, or nothing to run), are answered as before."""
    if accept and prefers_event_stream(accept):
        return Media.JSON
    media = negotiate(accept)
    if media is None and method == "GET" and not has_query:
        return Media.JSON
    return media


# The status of a request error (no `data`: nothing ran) over application/graphql-response+json,
# by the first error's code. The draft's list: a document that does not parse, 400; one that
# does not validate (kAI's limits are validation rules of its own), a variable that does not
# fit, an operation that cannot be chosen, 422; a client not permitted, 401 or 403; the
# server unable to serve now, 503.
REQUEST_ERROR_STATUS = {
    ErrorCode.GRAPHQL_PARSE_FAILED: 400,
    ErrorCode.GRAPHQL_VALIDATION_FAILED: 422,
    ErrorCode.QUERY_TOO_COMPLEX: 422,
    ErrorCode.BAD_USER_INPUT: 422,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    # Not 400 or 500: Apollo's persisted-queries link turns itself off on those.
    ErrorCode.PERSISTED_QUERY_NOT_FOUND: 404,
    ErrorCode.PERSISTED_QUERY_NOT_IN_LIST: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.MALWARE_DETECTED: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUOTA_EXCEEDED: 429,
    ErrorCode.AGENT_UNAVAILABLE: 503,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_SERVER_ERROR: 500,
}


def is_request_error(data: object, errors: Iterable[GraphQLError] | None) -> bool:
    """Nothing ran: no data, and no error has a path (a field error always has one). The
    document did not parse or validate, a variable did not fit, or the operation was
    refused before it ran (a rate limit)."""
    found = list(errors or ())
    return data is None and bool(found) and all(not error.path for error in found)


def _status_of_code(code: object) -> int:
    """An error without a code kAI knows is the server's: kAI codes every error it expects."""
    try:
        return REQUEST_ERROR_STATUS[ErrorCode(code)] if isinstance(code, str) else 500
    except (ValueError, KeyError):
        return 500


def request_error_status(errors: Sequence[object]) -> tuple[int, dict[str, str]]:
    """The status of a request error, by its first error (as sent), and its headers
    (Retry-After when rate limited)."""
    first = errors[0] if errors else None
    extensions = first.get("extensions") if isinstance(first, Mapping) else None
    if not isinstance(extensions, Mapping):
        extensions = {}
    status = _status_of_code(extensions.get("code"))
    retry_after = extensions.get("retryAfter")
    if status == 429 and isinstance(retry_after, int):
        return status, {"retry-after": str(retry_after)}
    return status, {}


def refusal_status(status: int, cause: BaseException | None, method: str) -> int:
    """The status over application/graphql-response+json of a request Strawberry refused
    with `status`, `cause` being what it raised that from.

    A 400 for a body that could not be read (JSON, multipart) stays 400; one for a body
    that is not a well-formed GraphQL-over-HTTP request (no query, a parameter of the
    wrong type, a batch, an operation that cannot be chosen) is 422; a query or mutation
    in a GET that may not run there is 405. Strawberry raises its 400 for an unreadable
    body from the error that stopped it, and those for the parameters from nothing.
    """
    if status != 400:
        return status
    if isinstance(cause, NotARequestObject):
        return 422
    if isinstance(cause, InvalidOperationTypeError):
        runs_over_post = cause.operation_type in {OperationType.QUERY, OperationType.MUTATION}
        return 405 if method == "GET" and runs_over_post else 422
    if cause is None or isinstance(cause, MissingQueryError | CannotGetOperationTypeError):
        return 422
    return 400


def allow_header(status: int, cause: BaseException | None) -> dict[str, str]:
    """A 405 names the methods that work (RFC 9110 requires it)."""
    if status != 405:
        return {}
    return {"allow": "POST" if isinstance(cause, InvalidOperationTypeError) else "GET, POST"}
