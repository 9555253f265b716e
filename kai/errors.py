"""The error codes of CONTRACT.graphql, and the exception that carries one."""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(enum.StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    MALWARE_DETECTED = "MALWARE_DETECTED"
    AGENT_UNAVAILABLE = "AGENT_UNAVAILABLE"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


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


class ServiceUnavailable(KaiError):
    code = ErrorCode.SERVICE_UNAVAILABLE
