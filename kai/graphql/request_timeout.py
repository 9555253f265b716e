"""The request timeout: an HTTP query or mutation runs within KAI_REQUEST_TIMEOUT_SECONDS (G5)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

from starlette.responses import JSONResponse

from kai.context import Context
from kai.errors import ErrorCode

log = logging.getLogger(__name__)

# How long the audit rows of a timed-out request may take to be written.
AUDIT_FLUSH_GRACE_SECONDS = 5.0


class RequestTimedOut(Exception):
    """Running an HTTP query or mutation took longer than KAI_REQUEST_TIMEOUT_SECONDS (G5)."""

    def __init__(self, seconds: float):
        super().__init__(f"timed out after {seconds:g} s")
        self.seconds = seconds


def timeout_response(seconds: float) -> JSONResponse:
    """503, in GraphQL's shape: nothing of the operation's answer is sent, the failure is the
    server's and temporary, and proxies, monitoring and clients recognise a 503 as such."""
    message = (
        f"The request did not finish within {seconds:g} s and was cancelled; "
        "retry later, or ask for less."
    )
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": ErrorCode.SERVICE_UNAVAILABLE}}]},
        status_code=503,
    )


async def within(seconds: float, operation: Awaitable[Any], context: Context) -> Any:
    """Past the limit the operation's task is cancelled where it waits (a database query,
    an agent's answer), and the client gets a 503 instead of a socket that hangs."""
    try:
        async with asyncio.timeout(seconds):
            return await operation
    except TimeoutError:
        log.warning(
            "request %s timed out after %g s and was cancelled", context.request_id, seconds
        )
        # FlushAudit did not get to write the permission checks of the cancelled work.
        with contextlib.suppress(Exception):  # the auditor logs what it could not write
            async with asyncio.timeout(AUDIT_FLUSH_GRACE_SECONDS):
                await context.auditor.flush()
        raise RequestTimedOut(seconds) from None
