"""An example remote agent that asks a person before it acts. Run it with an API key of
the agent's owner that holds agent.command on that agent (and nothing else: a process
must not be able to decide its own questions):

    KAI_API_KEY=kai_… kai agent run examples.careful_remote:agent \
        --url http://127.0.0.1:8000 --agent-id agt_…

Its command "release" asks a person first (requestApproval), and waits: the people who
may decide see the question on approvalRequests, and the process goes on once one of
them approved, or reports who refused and why, or that nobody answered in time.
"""

from __future__ import annotations

from typing import Any

from kai_sdk import RemoteAgent

agent = RemoteAgent()


@agent.command("release")
async def release(params: dict[str, Any]) -> Any:
    """Releases params.version once a person agrees (open params.timeout seconds, 300 by
    default)."""
    version = str(params.get("version", "unknown"))
    decision = await agent.request_approval(
        {"release": version, "why": params.get("why")},
        timeout=float(params.get("timeout", 300)),
    )
    if not decision.approved:
        return {"released": None, "state": decision.state, "reason": decision.reason}
    await agent.log(f"releasing {version}", data={"approval": decision.approval_id})
    return {"released": version, "state": decision.state, "reason": decision.reason}
