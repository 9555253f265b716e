"""What the client raises: one class per `extensions.code` kAI sends, and connection errors.

Every GraphQL error kAI sends carries `extensions.code`, a value of the schema's
`ErrorCode` enum. The client raises the first error of a response as the class below
for its code (`KaiError` for a code it does not know), with every error of the response
in `.errors`:

    try:
        client.send_command(agent_id, AgentCommandInput(command="ping"))
    except AgentUnavailableError:
        ...
    except RateLimitedError as exc:
        time.sleep(exc.retry_after or 1)

`KaiConnectionError` is a server that could not be reached, or a connection that dropped
(a subscription's socket closed without its `complete`); `KaiProtocolError` an answer
that is not GraphQL (a proxy's HTML error page, say).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class KaiClientError(Exception):
    """Anything the client raises."""


class KaiConnectionError(KaiClientError):
    """The server could not be reached, or the connection dropped mid-way.

    For a subscription, `close_code` and `close_reason` are the WebSocket close frame's
    (None when there was none). The client's `watch_*` methods reconnect and resume on
    their own; this reaches the caller once they give up.
    """

    def __init__(self, message: str, *, close_code: int | None = None, close_reason: str = ""):
        super().__init__(message)
        self.close_code = close_code
        self.close_reason = close_reason


class KaiProtocolError(KaiClientError):
    """An answer that is not a GraphQL response: `status` is its HTTP status (None over
    WebSocket), `body` the start of what came."""

    def __init__(self, message: str, *, status: int | None = None, body: str = ""):
        super().__init__(message)
        self.status = status
        self.body = body


class KaiError(KaiClientError):
    """A GraphQL error from kAI: `code` is its `extensions.code`.

    `message` is the server's message, `extensions` every extension, `path` the field it
    is about, `errors` every error of the response (this one first) and `data` what the
    response had besides (usually None), `status` the HTTP status (None over WebSocket).
    """

    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        extensions: Mapping[str, Any] | None = None,
        path: Sequence[str | int] | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
        data: Any = None,
        status: int | None = None,
    ):
        super().__init__(f"{code}: {message}" if code else message)
        self.message = message
        if code is not None:
            self.code = code
        self.extensions: dict[str, Any] = dict(extensions or {})
        self.path = list(path) if path is not None else None
        self.errors = [dict(error) for error in errors]
        self.data = data
        self.status = status


class UnauthenticatedError(KaiError):
    """No credentials, or credentials that are invalid, expired or revoked (and, with a
    session, the refresh token no longer works either)."""

    code = "UNAUTHENTICATED"


class ForbiddenError(KaiError):
    """Signed in, but without the permission named by `permission`."""

    code = "FORBIDDEN"

    @property
    def permission(self) -> str | None:
        value = self.extensions.get("permission")
        return value if isinstance(value, str) else None


class NotFoundError(KaiError):
    """No such object, or one that belongs to someone else."""

    code = "NOT_FOUND"


class BadUserInputError(KaiError):
    """An argument is invalid; `field` names it."""

    code = "BAD_USER_INPUT"

    @property
    def field(self) -> str | None:
        value = self.extensions.get("field")
        return value if isinstance(value, str) else None


class ConflictError(KaiError):
    """The object's state or a unique value forbids the change."""

    code = "CONFLICT"


class RateLimitedError(KaiError):
    """Too many requests: try again in `retry_after` seconds."""

    code = "RATE_LIMITED"

    @property
    def retry_after(self) -> float | None:
        value = self.extensions.get("retryAfter")
        return float(value) if isinstance(value, int | float) else None


class QuotaExceededError(KaiError):
    """The account has as many of something as it may: `quota` names it, `limit` its size."""

    code = "QUOTA_EXCEEDED"

    @property
    def quota(self) -> str | None:
        value = self.extensions.get("quota")
        return value if isinstance(value, str) else None

    @property
    def limit(self) -> int | None:
        value = self.extensions.get("limit")
        return value if isinstance(value, int) else None


class PayloadTooLargeError(KaiError):
    """The request body or the upload is larger than the server accepts."""

    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaTypeError(KaiError):
    """The body's content type, or an upload's sniffed type, is not accepted."""

    code = "UNSUPPORTED_MEDIA_TYPE"


class MalwareDetectedError(KaiError):
    """The virus scanner found malware in the upload; nothing was stored."""

    code = "MALWARE_DETECTED"


class AgentUnavailableError(KaiError):
    """The agent could not answer (not RUNNING, its process away, or too slow)."""

    code = "AGENT_UNAVAILABLE"


class QueryTooComplexError(KaiError):
    """The document is past a limit on depth, aliases, tokens or cost."""

    code = "QUERY_TOO_COMPLEX"


class PersistedQueryNotFoundError(KaiError):
    """No document is registered under the persisted query's hash."""

    code = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryNotInListError(KaiError):
    """The server runs trusted documents only, and this document is not in its list."""

    code = "PERSISTED_QUERY_NOT_IN_LIST"


class GraphQLParseFailedError(KaiError):
    """The document, or the request's JSON, does not parse."""

    code = "GRAPHQL_PARSE_FAILED"


class GraphQLValidationFailedError(KaiError):
    """The document does not validate against the server's schema (a client older or
    newer than the server)."""

    code = "GRAPHQL_VALIDATION_FAILED"


class ServiceUnavailableError(KaiError):
    """A backing service is away, or the request ran out of time; retry later."""

    code = "SERVICE_UNAVAILABLE"


class InternalServerError(KaiError):
    """A fault of the server's; `request_id` finds it in the server's log."""

    code = "INTERNAL_SERVER_ERROR"

    @property
    def request_id(self) -> str | None:
        value = self.extensions.get("requestId")
        return value if isinstance(value, str) else None


# Every ErrorCode value of graphql.schema (tests/test_client_python.py holds the two
# to each other).
ERRORS: dict[str, type[KaiError]] = {
    cls.code: cls
    for cls in (
        UnauthenticatedError,
        ForbiddenError,
        NotFoundError,
        BadUserInputError,
        ConflictError,
        RateLimitedError,
        QuotaExceededError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        MalwareDetectedError,
        AgentUnavailableError,
        QueryTooComplexError,
        PersistedQueryNotFoundError,
        PersistedQueryNotInListError,
        GraphQLParseFailedError,
        GraphQLValidationFailedError,
        ServiceUnavailableError,
        InternalServerError,
    )
    if cls.code is not None
}


def error_from(
    errors: Sequence[Mapping[str, Any]], *, data: Any = None, status: int | None = None
) -> KaiError:
    """The exception for a response's `errors` (at least one): its first error's class."""
    first = errors[0] if errors else {"message": "an error without details"}
    extensions = first.get("extensions")
    extensions = extensions if isinstance(extensions, Mapping) else {}
    code = extensions.get("code")
    code = code if isinstance(code, str) else None
    cls = ERRORS.get(code or "", KaiError)
    message = first.get("message")
    path = first.get("path")
    return cls(
        message if isinstance(message, str) else repr(first),
        code=code,
        extensions=extensions,
        path=path if isinstance(path, list) else None,
        errors=errors,
        data=data,
        status=status,
    )


def has_code(errors: Sequence[Mapping[str, Any]], code: str) -> bool:
    return any(
        isinstance(error.get("extensions"), Mapping) and error["extensions"].get("code") == code
        for error in errors
    )
