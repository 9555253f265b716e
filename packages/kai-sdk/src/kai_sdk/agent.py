"""kai_sdk.RemoteAgent: a process of yours that does a remote agent's work.

    agent = RemoteAgent()

    @agent.command("greet")
    async def greet(params):
        return {"hello": params.get("name", "world")}

    @agent.prompt
    async def answer(prompt, options):
        for word in prompt.split():
            yield word + " "

    @agent.task("count")          # the agent's configuration lists it in taskTypes
    async def count(payload, progress):
        await progress(0.5)
        return {"counted": payload}

    await agent.run(url="https://kai.example.com", agent_id="agt_…", api_key="kai_…")

`run` holds the agent's `agentInbox` over graphql-transport-ws (the agent is
RUNNING while it does), runs a handler for each COMMAND, PROMPT and TASK, answers
over the same socket (agentReply, agentStreamChunk, agentTaskProgress), sends agentHeartbeat with
this process's measured memory and CPU use, and reconnects with exponential
backoff and jitter whenever the socket drops. RESTART reconnects at once; STOP
(the agent was stopped or deleted) makes `run` return. Handlers may log and ask a
person first (`await agent.request_approval(subject)`): kai_sdk.handler_helpers.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from websockets.exceptions import WebSocketException

from kai_sdk.approvals import Approvals
from kai_sdk.documents import CHUNK, HEARTBEAT, INBOX, REPLY, TASK_PROGRESS
from kai_sdk.handler_helpers import HandlerHelpers
from kai_sdk.threads import takes_thread, thread_of
from kai_sdk.transport import (
    Api,
    ConnectionLost,
    Refused,
    RemoteAgentError,
    Socket,
    error_of,
    graphql_ws_url,
)
from kai_sdk.usage import CpuMeter, memory_fraction

log = logging.getLogger("kai_sdk")

CommandHandler = Callable[[dict[str, Any]], Any]
# handler(prompt, options) or handler(prompt, options, thread): see kai_sdk.threads.
PromptHandler = Callable[..., AsyncIterator[str]]
TaskProgress = Callable[[float], Awaitable[None]]
TaskHandler = Callable[[Any, TaskProgress], Any]
C = TypeVar("C", bound=CommandHandler)
P = TypeVar("P", bound=PromptHandler)
H = TypeVar("H", bound=TaskHandler)

# What a handler's progress() sends at most: progress 1 is the task's end, sent with its result.
MAX_PROGRESS = 0.999
# Retrying cannot help: the key, the agent or its type is wrong.
FATAL_CODES = frozenset({"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT"})
MAX_BACKOFF_EXPONENT = 30


class RemoteAgent(HandlerHelpers):
    def __init__(
        self,
        *,
        heartbeat_seconds: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        request_timeout: float = 30.0,
        approval_check_seconds: float = 30.0,
    ):
        self.heartbeat_seconds = heartbeat_seconds
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.request_timeout = request_timeout
        self._commands: dict[str, CommandHandler] = {}
        self._prompt: PromptHandler | None = None
        self._tasks: dict[str, TaskHandler] = {}
        self._api: Api | None = None
        self._agent_id: str | None = None
        self._stopping: asyncio.Event | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._cpu = CpuMeter()
        self._approvals = Approvals(call=self._call, check_seconds=approval_check_seconds)

    # -- registration ----------------------------------------------------------

    def command(self, name: str) -> Callable[[C], C]:
        """Registers `handler(params) -> JSON` (sync or async) for the command `name`."""

        def register(handler: C) -> C:
            self._commands[name] = handler
            return handler

        return register

    def prompt(self, handler: P) -> P:
        """Registers `handler(prompt, options)`, an async generator of text chunks; a
        handler of three parameters also gets the thread a message was posted to
        (`kai_sdk.threads.Thread`, None for a plain prompt)."""
        self._prompt = handler
        return handler

    def task(self, task_type: str) -> Callable[[H], H]:
        """Registers `handler(payload, progress) -> JSON` (sync or async) for tasks of
        `task_type`: `await progress(0.5)` reports; the return value is the result,
        an exception the error. The agent's configuration lists the type in taskTypes."""

        def register(handler: H) -> H:
            self._tasks[task_type] = handler
            return handler

        return register

    @property
    def commands(self) -> list[str]:
        return sorted(self._commands)

    @property
    def task_types(self) -> list[str]:
        return sorted(self._tasks)

    def stop(self) -> None:
        """Ends `run` (from a signal handler, a handler, or another task)."""
        if self._stopping is not None:
            self._stopping.set()

    # -- the connection loop ---------------------------------------------------

    async def run(self, *, url: str, agent_id: str, api_key: str) -> None:
        """Serves the agent until STOP or stop(); raises Refused if the server never will."""
        graphql_ws_url(url)  # a bad URL fails now, not on every retry
        self._stopping = asyncio.Event()
        attempt = 0
        while not self._stopping.is_set():
            outcome = "lost"
            try:
                socket = await Socket.open(url, token=api_key, open_timeout=self.request_timeout)
            except Refused:
                raise
            except (OSError, TimeoutError, WebSocketException, ConnectionLost, ValueError) as exc:
                log.warning("cannot connect to %s: %s", url, exc or type(exc).__name__)
            else:
                try:
                    outcome, attached = await self._session(socket, agent_id)
                finally:
                    await socket.close()
                if attached:
                    attempt = 0
            if outcome == "stop":
                return
            if outcome == "restart":
                log.info("asked to restart: attaching again")
                attempt = 0
                continue
            delay = self._backoff(attempt)
            attempt += 1
            log.info("reconnecting in %.2f s", delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter: half the step fixed, half random."""
        step = min(self.backoff_max, self.backoff_initial * 2 ** min(attempt, MAX_BACKOFF_EXPONENT))
        jitter = random.uniform(0, step / 2)  # noqa: S311 (jitter, not secrecy)
        return float(step / 2 + jitter)

    async def _session(self, socket: Socket, agent_id: str) -> tuple[str, bool]:
        """One connection: the inbox, heartbeats, handlers. Returns (outcome, attached)."""
        assert self._stopping is not None
        self._api, self._agent_id = socket, agent_id
        attached = asyncio.Event()
        inbox = asyncio.create_task(self._inbox(socket, agent_id))
        heartbeats = asyncio.create_task(self._heartbeats(socket, agent_id, attached))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({inbox, heartbeats, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if inbox.done():
                return inbox.result(), attached.is_set()
            if stopping.done():
                return "stop", attached.is_set()
            # The heartbeats found the agent no longer attached (or the socket gone).
            return "lost", attached.is_set()
        finally:
            for task in (inbox, heartbeats, stopping, *self._handlers):
                task.cancel()
            await asyncio.gather(
                inbox, heartbeats, stopping, *self._handlers, return_exceptions=True
            )
            self._handlers.clear()
            self._api = None

    async def _inbox(self, socket: Socket, agent_id: str) -> str:
        try:
            async with contextlib.aclosing(socket.subscribe(INBOX, {"agentId": agent_id})) as inbox:
                async for payload in inbox:
                    if payload.get("errors"):
                        raise error_of(payload["errors"])
                    message = (payload.get("data") or {}).get("agentInbox")
                    if not isinstance(message, dict):
                        continue
                    kind = message.get("kind")
                    if kind == "RESTART":
                        return "restart"
                    if kind == "STOP":
                        log.info("the agent was stopped: exiting")
                        return "stop"
                    task = asyncio.create_task(self.handle_message(message, socket))
                    self._handlers.add(task)
                    task.add_done_callback(self._handlers.discard)
        except RemoteAgentError as exc:
            if exc.code in FATAL_CODES:
                raise Refused(str(exc), exc.code) from None
            log.warning("the inbox was refused: %s (%s)", exc, exc.code)
            return "lost"
        except ConnectionLost:
            log.warning("connection lost (close code %s)", socket.close_code)
            return "lost"
        log.info("the server closed the inbox")
        return "lost"

    async def _heartbeats(self, socket: Socket, agent_id: str, attached: asyncio.Event) -> None:
        """Every heartbeat_seconds; returns once the agent is no longer attached to this socket."""
        while True:
            variables = {
                "agentId": agent_id,
                "memoryUsage": memory_fraction(),
                "cpuUsage": self._cpu.sample(),
            }
            try:
                data = await self._call(socket, HEARTBEAT, variables)
            except ConnectionLost:
                return
            except (RemoteAgentError, TimeoutError) as exc:
                log.warning("heartbeat failed: %s", exc or type(exc).__name__)
            else:
                state = (data.get("agentHeartbeat") or {}).get("state")
                if state == "RUNNING":
                    attached.set()
                elif attached.is_set():
                    # Declared gone (e.g. ERROR after a stall) while this socket lived on:
                    # attach again rather than hold an inbox nobody sends to.
                    log.warning("the agent is %s, no longer attached: reconnecting", state)
                    return
            await asyncio.sleep(self.heartbeat_seconds)

    # -- dispatch --------------------------------------------------------------

    async def handle_message(self, message: dict[str, Any], api: Api) -> None:
        """Runs the handler for one inbox message and sends its answer through `api`."""
        kind = message.get("kind")
        message_id = str(message.get("id"))
        payload = message.get("payload") or {}
        try:
            if kind == "COMMAND":
                await self._run_command(message_id, payload, api)
            elif kind == "PROMPT":
                await self._run_prompt(message_id, payload, api)
            elif kind == "TASK":
                await self._run_task(payload, api)
            elif kind == "APPROVAL":
                self._approvals.deliver(payload)
            else:
                log.warning("ignoring an inbox message of kind %s", kind)
        except ConnectionLost:
            log.warning("the connection dropped before the answer to %s was sent", message_id)
        except (RemoteAgentError, TimeoutError) as exc:
            log.warning("the answer to %s was not taken: %s", message_id, exc)

    async def _run_command(self, message_id: str, payload: dict[str, Any], api: Api) -> None:
        name = str(payload.get("command"))
        params = payload.get("params") or {}
        handler = self._commands.get(name)
        result: Any = None
        error: str | None = None
        if handler is None:
            known = ", ".join(self.commands) or "none"
            error = f"unknown command {name!r} (this agent knows: {known})"
        else:
            try:
                result = handler(params)
                if inspect.isawaitable(result):
                    result = await result
                json.dumps(result)
            except Exception as exc:
                log.exception("command %r failed", name)
                result, error = None, _describe(exc)
        await self._call(api, REPLY, {"messageId": message_id, "result": result, "error": error})

    async def _run_prompt(self, message_id: str, payload: dict[str, Any], api: Api) -> None:
        if self._prompt is None:
            await self._fail(api, message_id, "this agent takes no prompts")
            return
        prompt = str(payload.get("prompt") or "")
        options = payload.get("options")
        options = options if isinstance(options, dict) else None
        if takes_thread(self._prompt):
            stream = self._prompt(prompt, options, thread_of(payload))
        else:
            stream = self._prompt(prompt, options)
        try:
            while True:
                try:
                    delta = await anext(stream)
                    if not isinstance(delta, str):
                        raise TypeError(f"a prompt handler yields str, not {type(delta).__name__}")
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    log.exception("the prompt handler failed")
                    await self._fail(api, message_id, _describe(exc))
                    return
                if delta:
                    variables = {"messageId": message_id, "delta": delta, "done": False}
                    await self._call(api, CHUNK, variables)
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        variables = {"messageId": message_id, "delta": "", "done": True}
        await self._call(api, CHUNK, variables)

    async def _run_task(self, payload: dict[str, Any], api: Api) -> None:
        task_id = str(payload.get("taskId"))
        task_type = str(payload.get("type"))
        handler = self._tasks.get(task_type)
        reported = 0.0
        result: Any = None
        error: str | None = None

        async def progress(value: float) -> None:
            nonlocal reported
            reported = min(max(float(value), 0.0), MAX_PROGRESS)
            await self._call(api, TASK_PROGRESS, {"taskId": task_id, "progress": reported})

        if handler is None:
            known = ", ".join(self.task_types) or "none"
            error = f"unknown task type {task_type!r} (this agent knows: {known})"
        else:
            try:
                result = handler(payload.get("payload"), progress)
                if inspect.isawaitable(result):
                    result = await result
                json.dumps(result)
            except Exception as exc:
                log.exception("task %s (%r) failed", task_id, task_type)
                result, error = None, _describe(exc)
        variables = {
            "taskId": task_id,
            "progress": 1.0 if error is None else reported,
            "result": result,
            "error": error,
        }
        await self._call(api, TASK_PROGRESS, variables)

    async def _fail(self, api: Api, message_id: str, error: str) -> None:
        variables = {"messageId": message_id, "result": None, "error": error}
        await self._call(api, REPLY, variables)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
