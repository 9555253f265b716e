"""The Python side of a remote agent: `from kai.sdk import RemoteAgent`.

Depends on the standard library and `websockets` only, so an agent process
does not load the server.
"""

from kai.sdk.agent import RemoteAgent
from kai.sdk.transport import ConnectionLost, Refused, RemoteAgentError

__all__ = ["ConnectionLost", "Refused", "RemoteAgent", "RemoteAgentError"]
