"""Refused HTTP requests still answer in GraphQL's shape, with an `extensions.code`."""

from __future__ import annotations

from starlette.responses import JSONResponse

from kai.errors import ErrorCode

BATCHING_REFUSAL = (
    "Batched requests (an array of operations) are not accepted: send one operation per request."
)


def _error_code(status: int, reason: str) -> ErrorCode:
    if status == 413:
        return ErrorCode.PAYLOAD_TOO_LARGE
    if status == 415:
        return ErrorCode.UNSUPPORTED_MEDIA_TYPE
    if status == 404:
        return ErrorCode.NOT_FOUND
    if "JSON" in reason:
        return ErrorCode.GRAPHQL_PARSE_FAILED
    return ErrorCode.BAD_USER_INPUT


def http_error(status: int, reason: str) -> JSONResponse:
    """A refused HTTP request still answers in GraphQL's shape, with a code."""
    if reason == "Unsupported content type":
        status, reason = 415, "Send application/json, or multipart/form-data for uploads."
    if reason == "Batching is not enabled":  # a body that is an array of operations (G4)
        reason = BATCHING_REFUSAL
    code = _error_code(status, reason)
    return JSONResponse(
        {"errors": [{"message": reason, "extensions": {"code": code.value}}]},
        status_code=status,
    )
