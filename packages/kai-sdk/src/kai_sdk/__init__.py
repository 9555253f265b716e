"""The Python side of a remote agent: `from kai_sdk import RemoteAgent`.

Depends on the standard library and `websockets` only, so an agent process
does not load the server. The names below are loaded when first used: a program that
imports kai_sdk.client or kai_sdk.cli does not load the remote agent's machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kai_sdk.agent import RemoteAgent
    from kai_sdk.approvals import Decision
    from kai_sdk.transport import ConnectionLost, Refused, RemoteAgentError

_LAZY = {
    "RemoteAgent": "kai_sdk.agent",
    "Decision": "kai_sdk.approvals",
    "ConnectionLost": "kai_sdk.transport",
    "Refused": "kai_sdk.transport",
    "RemoteAgentError": "kai_sdk.transport",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ConnectionLost", "Decision", "Refused", "RemoteAgent", "RemoteAgentError"]
