"""AsyncKaiClient: the generated async client, and what it takes to use it well.

Every operation of packages/kai-sdk/graphql is a method of the generated
`AsyncGraphQLClient` (kai_sdk.client.aio), with pydantic models for its variables and
its result. This class adds, by hand: signing in and out, pages of a list followed
to their end (inherited from kai_sdk.client.async_lists), uploads from a path or bytes,
downloads checked against the file's checksum, and subscriptions that resume by
themselves after a dropped connection.

    async with AsyncKaiClient("http://127.0.0.1:8000") as kai:
        await kai.sign_in("ada@example.com", "correct horse battery staple")
        agent = (await kai.create_agent(AgentConfigInput(name="helper", type_="echo"))).create_agent
        async for event in kai.watch_agent_events(agent.id, after=0):
            print(event.seq, event.type, event.data)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any, BinaryIO

from kai_sdk.client._support import (
    TERMINAL_TASK_STATES,
    Checksum,
    Reconnects,
    Source,
    download_error,
    upload_source,
)
from kai_sdk.client.aio import (
    AgentCommandInput,
    BusyPolicy,
    LoginInput,
    MessageInput,
    RegisterInput,
    StreamPromptInput,
    Upload,
)
from kai_sdk.client.aio.fragments import (
    AgentEventFields,
    CommandResultFields,
    FileFields,
    StreamChunkFields,
    TaskFields,
    UserFields,
)
from kai_sdk.client.async_lists import AsyncListingClient
from kai_sdk.client.errors import KaiConnectionError, KaiProtocolError, NotFoundError


class AsyncKaiClient(AsyncListingClient):
    """kAI's async client. See the module's documentation, and kai_sdk.client.transport
    for what every request does (credentials, refresh, typed errors)."""

    # --- signing in ----------------------------------------------------------------------

    async def sign_in(self, email: str, password: str) -> UserFields:
        """Logs in; the client keeps the session's tokens and refreshes them."""
        return (await self.login(LoginInput(email=email, password=password))).login.user

    async def sign_up(
        self, email: str, password: str, display_name: str | None = None
    ) -> UserFields:
        """Registers an account and signs in as it."""
        registered = await self.register(
            RegisterInput(email=email, password=password, display_name=display_name)
        )
        return registered.registered.user

    async def sign_out(self) -> None:
        """Ends the session on the server (logout) and forgets its tokens; with an API key,
        forgets the key (revoke it with revoke_api_key to stop it working)."""
        try:
            if self.tokens is not None:
                await self.logout()
        finally:
            self.use_tokens(None)

    # --- commands --------------------------------------------------------------------------

    async def command(
        self,
        agent_id: str,
        command: str,
        params: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> CommandResultFields:
        """Runs a command on a RUNNING agent and waits for its result."""
        sent = await self.send_command(
            agent_id,
            AgentCommandInput(command=command, params=params or {}),
            idempotency_key=idempotency_key,
        )
        return sent.send_command

    # --- files -----------------------------------------------------------------------------

    async def upload(
        self,
        source: Source,
        *,
        agent_id: str | None = None,
        filename: str | None = None,
        content_type: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> FileFields:
        """Uploads a file (a path, bytes or a binary file), streamed as a GraphQL
        multipart request. `filename` defaults to the path's or file's name;
        `content_type` to application/octet-stream (the server sniffs the type);
        `progress` hears the bytes sent so far."""
        upload = upload_source(
            source, filename=filename, content_type=content_type, progress=progress
        )
        try:
            file = Upload(upload.filename, upload.content, upload.content_type)  # type: ignore[arg-type]
            return (await self.upload_file(file, agent_id=agent_id)).upload_file
        finally:
            upload.close()

    async def _file(self, file: str | FileFields) -> FileFields:
        """The file as it is now: a fresh signed URL (they expire)."""
        file_id = file if isinstance(file, str) else file.id
        found = (await self.file(file_id)).file
        if found is None:
            raise NotFoundError(f"no file {file_id}", code="NOT_FOUND")
        return found

    async def iter_download(
        self, file: str | FileFields, *, chunk_size: int = 1 << 16
    ) -> AsyncGenerator[bytes, None]:
        """The file's bytes, chunk by chunk, from its signed URL (File.url; no credential
        is sent with it). Raises KaiProtocolError at the end if what came is not the
        file (its size and SHA-256)."""
        record = await self._file(file)
        checksum = Checksum(record.checksum, record.size)
        async with self.http_client.stream(
            "GET", record.url, headers={"user-agent": self.headers["user-agent"]}
        ) as response:
            if response.status_code != 200:
                raise download_error(response, await response.aread())
            async for chunk in response.aiter_bytes(chunk_size):
                checksum.update(chunk)
                yield chunk
        checksum.check()

    async def download(self, file: str | FileFields) -> bytes:
        """The whole file, in memory."""
        async with aclosing(self.iter_download(file)) as chunks:
            return b"".join([chunk async for chunk in chunks])

    async def download_to(
        self, file: str | FileFields, destination: str | os.PathLike[str] | BinaryIO
    ) -> int:
        """Writes the file to a path (replaced only once the whole file came) or a binary
        file; answers how many bytes were written."""
        if not isinstance(destination, str | os.PathLike):
            written = 0
            async with aclosing(self.iter_download(file)) as chunks:
                async for chunk in chunks:
                    destination.write(chunk)
                    written += len(chunk)
            return written
        path = Path(destination)
        partial = path.with_name(f".{path.name}.part")
        try:
            with partial.open("wb") as out:
                written = await self.download_to(file, out)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return written

    # --- live ------------------------------------------------------------------------------

    async def watch_agent_events(
        self, agent_id: str, after: int | None = None, *, patience: float | None = 60.0
    ) -> AsyncGenerator[AgentEventFields, None]:
        """The agent's events, resumed after a dropped connection from the last `seq`
        seen, so none is missed or repeated. `after`: the last seq already seen (0:
        everything stored; None: only events from now on, and until the first arrives a
        drop can miss some). `patience`: how long the connection may stay away before
        KaiConnectionError is raised (None: forever)."""
        last = after
        reconnects = Reconnects(patience)
        while True:
            try:
                async with aclosing(self.agent_events(agent_id, after=last)) as results:
                    async for result in results:
                        event = result.agent_events
                        if last is not None and event.seq <= last:
                            continue
                        last = event.seq
                        reconnects.progress()
                        yield event
                return
            except KaiConnectionError as exc:
                await asyncio.sleep(reconnects.next_delay(exc))

    async def watch_task(
        self, task_id: str, *, patience: float | None = 60.0
    ) -> AsyncGenerator[TaskFields, None]:
        """The task now, then on every change, until it ends (COMPLETED, FAILED or
        CANCELLED); resumed after a dropped connection (the task as it is then, unless
        unchanged)."""
        last: TaskFields | None = None
        reconnects = Reconnects(patience)
        while True:
            try:
                async with aclosing(self.task_updates(task_id)) as results:
                    async for result in results:
                        task = result.task_updates
                        if task == last:
                            continue
                        last = task
                        reconnects.progress()
                        yield task
                return
            except KaiConnectionError as exc:
                if last is not None and last.state in TERMINAL_TASK_STATES:
                    return
                await asyncio.sleep(reconnects.next_delay(exc))

    async def wait_for_task(self, task_id: str) -> TaskFields:
        """The task once it has ended (bound the wait with asyncio.timeout)."""
        async with aclosing(self.watch_task(task_id)) as updates:
            async for task in updates:
                if task.state in TERMINAL_TASK_STATES:
                    return task
        raise KaiProtocolError(f"the updates of task {task_id} ended before the task did")

    async def prompt(
        self, agent_id: str, prompt: str, options: Any = None
    ) -> AsyncGenerator[StreamChunkFields, None]:
        """The agent's answer, chunk by chunk, the last with done=True. Not resumed: a
        dropped connection raises KaiConnectionError (the agent's STREAM_CHUNK events keep
        the answer)."""
        chunks = self.stream_prompt(agent_id, StreamPromptInput(prompt=prompt, options=options))
        async with aclosing(chunks) as results:
            async for result in results:
                yield result.stream_prompt

    async def ask(
        self,
        thread_id: str,
        content: str,
        *,
        on_busy: BusyPolicy | None = None,
        options: Any = None,
    ) -> AsyncGenerator[StreamChunkFields, None]:
        """Sends a message to a thread; its answer, chunk by chunk, the last with
        done=True. The thread keeps both. `on_busy` (REJECT when None): what to do while
        the thread answers another message (ConflictError, QUEUE: wait, INTERRUPT: cut it
        short). Closing the generator before the end stops the answer, which the thread
        keeps as far as it got, marked interrupted. Not resumed: a dropped connection
        raises KaiConnectionError (and the answer is kept so too)."""
        input = MessageInput(content=content, options=options, on_busy=on_busy)
        async with aclosing(self.send_message(thread_id, input)) as results:
            async for result in results:
                yield result.send_message
