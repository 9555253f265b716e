"""An example remote agent. Run it with the agent owner's API key:

    KAI_API_KEY=kai_… kai agent run examples.echo_remote:agent \
        --url http://127.0.0.1:8000 --agent-id agt_…

or, where only the SDK is installed (`pip install kai-sdk`), on its own:

    KAI_API_KEY=kai_… python examples/echo_remote.py \
        --url http://127.0.0.1:8000 --agent-id agt_…

Its tasks ("count", "fail") are enqueued once the agent's configuration lists
them: {"taskTypes": ["count", "fail"]}.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from kai_sdk import RemoteAgent
from kai_sdk.threads import Thread

agent = RemoteAgent()


@agent.command("echo")
async def echo(params: dict[str, Any]) -> Any:
    """Answers with what it was sent, and which process answered."""
    return {"echo": params, "pid": os.getpid()}


@agent.command("log")
async def log(params: dict[str, Any]) -> Any:
    """Writes a line to the agent's logs (agentLogs)."""
    await agent.log(
        str(params.get("message", "hello from a remote agent")),
        level=str(params.get("level", "INFO")),
        data=params.get("data"),
    )
    return {"logged": True}


@agent.command("sleep")
async def sleep(params: dict[str, Any]) -> Any:
    seconds = min(float(params.get("seconds", 1)), 60.0)
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@agent.command("fail")
async def fail(params: dict[str, Any]) -> Any:
    raise RuntimeError(str(params.get("reason", "asked to fail")))


@agent.prompt
async def answer(
    prompt: str, options: dict[str, Any] | None, thread: Thread | None
) -> AsyncIterator[str]:
    """Streams the prompt back word by word (upper-cased with options {"shout": true});
    on a thread, with options {"history": true}, recites the thread it was sent instead."""
    if thread is not None and (options or {}).get("history"):
        yield f"{len(thread.messages)} messages:"
        for message in thread.messages:
            yield f" {message.role}: {message.content} |"
        return
    words = prompt.split()
    shout = bool((options or {}).get("shout"))
    for index, word in enumerate(words):
        word = word.upper() if shout else word
        yield word if index == len(words) - 1 else word + " "


@agent.task("count")
async def count(payload: Any, progress: Callable[[float], Awaitable[None]]) -> Any:
    """Counts to payload.to (at most 100), reporting progress at each step."""
    to = max(1, min(int((payload or {}).get("to", 3)), 100))
    seconds = min(float((payload or {}).get("stepSeconds", 0.1)), 10.0)
    for step in range(1, to + 1):
        await asyncio.sleep(seconds)
        await progress(step / to)
    return {"counted": to, "pid": os.getpid()}


@agent.task("fail")
async def fail_task(payload: Any, progress: Callable[[float], Awaitable[None]]) -> Any:
    await progress(0.5)
    raise RuntimeError(str((payload or {}).get("reason", "asked to fail")))


def main() -> None:
    """Runs the agent with kai-sdk alone (`kai agent run` needs the server installed)."""
    import argparse

    parser = argparse.ArgumentParser(
        description="the example remote agent (the owner's API key from KAI_API_KEY)"
    )
    parser.add_argument("--url", required=True, help="the kAI server, e.g. https://kai.example")
    parser.add_argument("--agent-id", required=True)
    args = parser.parse_args()
    api_key = os.environ.get("KAI_API_KEY")
    if not api_key:
        parser.error("set KAI_API_KEY to an API key of the agent's owner")
    asyncio.run(agent.run(url=args.url, agent_id=args.agent_id, api_key=api_key))


if __name__ == "__main__":
    main()
