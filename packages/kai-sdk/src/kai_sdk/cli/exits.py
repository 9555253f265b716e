"""What `kai`'s commands for people exit with, and the one line they say on failure.

    0    done
    1    failed otherwise: another error code (INTERNAL_SERVER_ERROR, QUERY_TOO_COMPLEX,
         ...), an answer that is not GraphQL, a command that answered success: false, a
         watched task that FAILED or was CANCELLED, a local file that cannot be read or
         written
    2    usage: unknown command or option, a bad value (argparse's code, as for every
         `kai` command)
    3    not signed in, or UNAUTHENTICATED (the session ended: run `kai login`)
    4    FORBIDDEN
    5    NOT_FOUND
    6    the server refused the input: BAD_USER_INPUT, CONFLICT, PAYLOAD_TOO_LARGE,
         UNSUPPORTED_MEDIA_TYPE, MALWARE_DETECTED
    7    RATE_LIMITED, QUOTA_EXCEEDED: try later, or with less
    8    the server cannot be reached, the connection dropped, or SERVICE_UNAVAILABLE
    9    AGENT_UNAVAILABLE: the agent is not RUNNING, or its remote process is away
    130  interrupted (Ctrl-C)

Every failure is one line on stderr, `kai: CODE: message`, CODE being the server's
`extensions.code` (or UNREACHABLE when there was no answer).
"""

from __future__ import annotations

OK = 0
FAILED = 1
USAGE = 2
UNAUTHENTICATED = 3
FORBIDDEN = 4
NOT_FOUND = 5
REFUSED = 6
LIMITED = 7
UNREACHABLE = 8
AGENT_UNAVAILABLE = 9
INTERRUPTED = 130

BY_CODE = {
    "UNAUTHENTICATED": UNAUTHENTICATED,
    "FORBIDDEN": FORBIDDEN,
    "NOT_FOUND": NOT_FOUND,
    "BAD_USER_INPUT": REFUSED,
    "CONFLICT": REFUSED,
    "PAYLOAD_TOO_LARGE": REFUSED,
    "UNSUPPORTED_MEDIA_TYPE": REFUSED,
    "MALWARE_DETECTED": REFUSED,
    "RATE_LIMITED": LIMITED,
    "QUOTA_EXCEEDED": LIMITED,
    "SERVICE_UNAVAILABLE": UNREACHABLE,
    "AGENT_UNAVAILABLE": AGENT_UNAVAILABLE,
}


class CliError(Exception):
    """A failure to report as `kai: CODE: message` and exit with."""

    def __init__(self, message: str, *, code: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.exit_code = exit_code if exit_code is not None else BY_CODE.get(code or "", FAILED)

    def line(self) -> str:
        return f"kai: {self.code}: {self.message}" if self.code else f"kai: {self.message}"


def usage(message: str) -> CliError:
    return CliError(message, exit_code=USAGE)


def not_found(message: str) -> CliError:
    return CliError(message, code="NOT_FOUND")


def not_signed_in(url: str) -> CliError:
    return CliError(
        f"not signed in to {url}: kai login --url {url} (or set KAI_API_KEY)",
        code="UNAUTHENTICATED",
    )
