"""What a handler may call on its RemoteAgent while it runs: a line in the agent's logs,
and a question to a person (kai_sdk.approvals).

    @agent.command("delete")
    async def delete(params):
        decision = await agent.request_approval({"delete": params["path"]}, timeout=600)
        if not decision.approved:
            return {"deleted": False, "why": decision.reason}
        ...
"""

from __future__ import annotations

import asyncio
from typing import Any

from kai_sdk.approvals import Approvals, Decision
from kai_sdk.documents import LOG
from kai_sdk.transport import Api, ConnectionLost

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class HandlerHelpers:
    """Part of RemoteAgent, which holds the connection (`_api`, `_agent_id`, set while
    attached) and the approvals it waits on."""

    request_timeout: float
    _api: Api | None
    _agent_id: str | None
    _approvals: Approvals

    async def log(self, message: str, *, level: str = "INFO", data: Any = None) -> None:
        """A line in the agent's logs (agentLogs), also a LOG event."""
        level = level.upper()
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}")
        api, agent_id = self._connected()
        variables = {"agentId": agent_id, "level": level, "message": message, "data": data}
        await self._call(api, LOG, variables)

    async def request_approval(
        self,
        subject: Any,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (how long the approval stays open)
    ) -> Decision:
        """Asks a person about `subject` (JSON) and waits for the decision: the approval
        stays open `timeout` seconds (None: the agent's approvalPolicy's), then it ends
        EXPIRED, not approved. RemoteAgentError when the server refuses the question."""
        return await self._approvals.request(self._connected, subject, lifetime=timeout)

    def _connected(self) -> tuple[Api, str]:
        api, agent_id = self._api, self._agent_id
        if api is None or agent_id is None:
            raise ConnectionLost("not connected to kAI")
        return api, agent_id

    async def _call(self, api: Api, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        async with asyncio.timeout(self.request_timeout):
            return await api.execute(query, variables)
