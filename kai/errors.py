"""Every error code a client can receive in `extensions.code`, and the exceptions that
carry one. The codes are also the schema's `ErrorCode` enum (kai.schema.error_code)."""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(enum.StrEnum):
    """What went wrong, for a program to act on (the message is for people)."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    MALWARE_DETECTED = "MALWARE_DETECTED"
    AGENT_UNAVAILABLE = "AGENT_UNAVAILABLE"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


# Each code's meaning, as the schema describes it.
DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.UNAUTHENTICATED: (
        "No credentials, or credentials that are invalid, expired or revoked."
    ),
    ErrorCode.FORBIDDEN: (
        "Signed in, but the role or the API key's scopes lack the permission named in "
        "`extensions.permission`."
    ),
    ErrorCode.NOT_FOUND: (
        "No such object, or one that belongs to someone else (answered alike, so ids cannot "
        "be probed)."
    ),
    ErrorCode.BAD_USER_INPUT: ("An argument is invalid; `extensions.field` names it."),
    ErrorCode.CONFLICT: (
        "The object's state or a unique value forbids the change (an e-mail already "
        "registered, an agent that is busy)."
    ),
    ErrorCode.RATE_LIMITED: (
        "Too many requests; `extensions.retryAfter` says in how many seconds to try again."
    ),
    ErrorCode.QUOTA_EXCEEDED: (
        "The account already has as many of something as it may (agents, queued tasks); "
        "`extensions.quota` names the quota and `extensions.limit` its size."
    ),
    ErrorCode.PAYLOAD_TOO_LARGE: (
        "The request body or the upload is larger than the server accepts."
    ),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (
        "The body's content type, or an upload's sniffed type, is not accepted."
    ),
    ErrorCode.MALWARE_DETECTED: (
        "The virus scanner found malware in the upload; nothing was stored."
    ),
    ErrorCode.AGENT_UNAVAILABLE: (
        "The agent could not answer (its process is away, its endpoint failed or it took too long)."
    ),
    ErrorCode.QUERY_TOO_COMPLEX: (
        "The document is past a limit on depth, aliases, tokens or cost."
    ),
    ErrorCode.PERSISTED_QUERY_NOT_FOUND: (
        "No document is registered under the persisted query's hash (`PersistedQueryNotFound`, "
        "as Apollo's automatic persisted queries expect): send it again with its text."
    ),
    ErrorCode.PERSISTED_QUERY_NOT_IN_LIST: (
        "The server runs trusted documents only, and this document, or the id or hash it was "
        "sent by, is not in its list."
    ),
    ErrorCode.GRAPHQL_PARSE_FAILED: ("The document, or the request's JSON, does not parse."),
    ErrorCode.GRAPHQL_VALIDATION_FAILED: ("The document does not validate against the schema."),
    ErrorCode.SERVICE_UNAVAILABLE: (
        "A backing service (the database, Redis) is away, or the request ran out of time; "
        "retry later."
    ),
    ErrorCode.INTERNAL_SERVER_ERROR: (
        "A fault of the server's; the message is masked and the log has the details under the "
        "request id."
    ),
}


class KaiError(Exception):
    """An expected failure: its message and code reach the client as they are."""

    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, *, code: ErrorCode | None = None, **extensions: Any):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extensions = extensions

    def as_extensions(self) -> dict[str, Any]:
        return {"code": self.code.value, **self.extensions}


class Unauthenticated(KaiError):
    code = ErrorCode.UNAUTHENTICATED

    def __init__(self, message: str = "Authentication required or credentials invalid."):
        super().__init__(message)


class Forbidden(KaiError):
    code = ErrorCode.FORBIDDEN

    def __init__(self, permission: str):
        super().__init__(f"Missing permission: {permission}.", permission=permission)


class NotFound(KaiError):
    code = ErrorCode.NOT_FOUND

    def __init__(self, what: str = "Object"):
        super().__init__(f"{what} not found.")


class BadUserInput(KaiError):
    code = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, *, field: str):
        super().__init__(message, field=field)


class Conflict(KaiError):
    code = ErrorCode.CONFLICT


class RateLimited(KaiError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, retry_after: float):
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(f"Too many attempts; retry in {seconds} s.", retryAfter=seconds)


class QuotaExceeded(KaiError):
    code = ErrorCode.QUOTA_EXCEEDED

    def __init__(self, what: str, *, quota: str, limit: int):
        super().__init__(
            f"You already have {limit} {what}, the most allowed; remove some first.",
            quota=quota,
            limit=limit,
        )


class ServiceUnavailable(KaiError):
    code = ErrorCode.SERVICE_UNAVAILABLE


class PayloadTooLarge(KaiError):
    code = ErrorCode.PAYLOAD_TOO_LARGE


class MalwareDetected(KaiError):
    code = ErrorCode.MALWARE_DETECTED


class AgentUnavailable(KaiError):
    code = ErrorCode.AGENT_UNAVAILABLE


class UnsupportedMediaType(KaiError):
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE
