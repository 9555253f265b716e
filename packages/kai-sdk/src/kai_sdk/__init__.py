"""The Python side of a remote agent: `from kai_sdk import RemoteAgent`.

Depends on the standard library and `websockets` only, so an agent process
does not load the server.
"""

from kai_sdk.agent import RemoteAgent
from kai_sdk.transport import ConnectionLost, Refused, RemoteAgentError

__all__ = ["ConnectionLost", "Refused", "RemoteAgent", "RemoteAgentError"]
