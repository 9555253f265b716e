"""KaiClient: the generated sync client, and what it takes to use it well.

Every query and mutation of packages/kai-sdk/graphql is a method of the generated
`GraphQLClient` (kai_sdk.client.sync), with pydantic models for its variables and its
result. ariadne-codegen writes subscriptions for async clients only, so this class
sends the subscriptions (sync/subscriptions.py holds their generated documents) over
graphql-transport-ws itself, and adds, as AsyncKaiClient does: signing in and out, pages
of a list followed to their end (inherited from kai_sdk.client.sync_lists), uploads from
a path or bytes, downloads checked against the file's checksum, and subscriptions that
resume by themselves after a dropped connection.

    with KaiClient("http://127.0.0.1:8000") as kai:
        kai.sign_in("ada@example.com", "correct horse battery staple")
        agent = kai.create_agent(AgentConfigInput(name="helper", type_="echo")).create_agent
        for event in kai.watch_agent_events(agent.id, after=0):
            print(event.seq, event.type, event.data)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator
from contextlib import closing
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
from kai_sdk.client.errors import KaiConnectionError, KaiProtocolError, NotFoundError
from kai_sdk.client.sync import (
    AgentCommandInput,
    BusyPolicy,
    LoginInput,
    MessageInput,
    RegisterInput,
    StreamPromptInput,
    Upload,
)
from kai_sdk.client.sync.base_model import UNSET, UnsetType
from kai_sdk.client.sync.fragments import (
    AgentEventFields,
    ApprovalFields,
    CommandResultFields,
    FileFields,
    StreamChunkFields,
    TaskFields,
    UserFields,
)
from kai_sdk.client.sync.subscriptions import (
    AGENT_EVENTS,
    APPROVAL_REQUESTS,
    SEND_MESSAGE,
    STREAM_PROMPT,
    TASK_UPDATES,
)
from kai_sdk.client.sync_lists import ListingClient


class KaiClient(ListingClient):
    """kAI's sync client. See the module's documentation, and kai_sdk.client.transport
    for what every request does (credentials, refresh, typed errors)."""

    # --- signing in ----------------------------------------------------------------------

    def sign_in(self, email: str, password: str) -> UserFields:
        """Logs in; the client keeps the session's tokens and refreshes them."""
        return self.login(LoginInput(email=email, password=password)).login.user

    def sign_up(self, email: str, password: str, display_name: str | None = None) -> UserFields:
        """Registers an account and signs in as it."""
        registered = self.register(
            RegisterInput(email=email, password=password, display_name=display_name)
        )
        return registered.registered.user

    def sign_out(self) -> None:
        """Ends the session on the server (logout) and forgets its tokens; with an API key,
        forgets the key (revoke it with revoke_api_key to stop it working)."""
        try:
            if self.tokens is not None:
                self.logout()
        finally:
            self.use_tokens(None)

    # --- commands --------------------------------------------------------------------------

    def command(
        self,
        agent_id: str,
        command: str,
        params: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> CommandResultFields:
        """Runs a command on a RUNNING agent and waits for its result."""
        sent = self.send_command(
            agent_id,
            AgentCommandInput(command=command, params=params or {}),
            idempotency_key=idempotency_key,
        )
        return sent.send_command

    # --- files -----------------------------------------------------------------------------

    def upload(
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
            return self.upload_file(file, agent_id=agent_id).upload_file
        finally:
            upload.close()

    def _file(self, file: str | FileFields) -> FileFields:
        """The file as it is now: a fresh signed URL (they expire)."""
        file_id = file if isinstance(file, str) else file.id
        found = self.file(file_id).file
        if found is None:
            raise NotFoundError(f"no file {file_id}", code="NOT_FOUND")
        return found

    def iter_download(
        self, file: str | FileFields, *, chunk_size: int = 1 << 16
    ) -> Generator[bytes, None, None]:
        """The file's bytes, chunk by chunk, from its signed URL (File.url; no credential
        is sent with it). Raises KaiProtocolError at the end if what came is not the
        file (its size and SHA-256)."""
        record = self._file(file)
        checksum = Checksum(record.checksum, record.size)
        with self.http_client.stream(
            "GET", record.url, headers={"user-agent": self.headers["user-agent"]}
        ) as response:
            if response.status_code != 200:
                raise download_error(response, response.read())
            for chunk in response.iter_bytes(chunk_size):
                checksum.update(chunk)
                yield chunk
        checksum.check()

    def download(self, file: str | FileFields) -> bytes:
        """The whole file, in memory."""
        with closing(self.iter_download(file)) as chunks:
            return b"".join(chunks)

    def download_to(
        self, file: str | FileFields, destination: str | os.PathLike[str] | BinaryIO
    ) -> int:
        """Writes the file to a path (replaced only once the whole file came) or a binary
        file; answers how many bytes were written."""
        if not isinstance(destination, str | os.PathLike):
            written = 0
            with closing(self.iter_download(file)) as chunks:
                for chunk in chunks:
                    destination.write(chunk)
                    written += len(chunk)
            return written
        path = Path(destination)
        partial = path.with_name(f".{path.name}.part")
        try:
            with partial.open("wb") as out:
                written = self.download_to(file, out)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return written

    # --- subscriptions, as the async client has them -------------------------------------

    def agent_events(
        self, agent_id: str, after: int | UnsetType | None = UNSET, **kwargs: Any
    ) -> Generator[AgentEventFields, None, None]:
        """The agentEvents subscription as it is (see watch_agent_events to resume)."""
        variables = {"agentId": agent_id, "after": after}
        with closing(self.execute_ws(AGENT_EVENTS, "AgentEvents", variables, **kwargs)) as results:
            for data in results:
                yield AgentEventFields.model_validate(data["agentEvents"])

    def task_updates(self, task_id: str, **kwargs: Any) -> Generator[TaskFields, None, None]:
        """The taskUpdates subscription as it is (see watch_task to resume)."""
        variables = {"taskId": task_id}
        with closing(self.execute_ws(TASK_UPDATES, "TaskUpdates", variables, **kwargs)) as results:
            for data in results:
                yield TaskFields.model_validate(data["taskUpdates"])

    def stream_prompt(
        self, agent_id: str, input: StreamPromptInput, **kwargs: Any
    ) -> Generator[StreamChunkFields, None, None]:
        """The streamPrompt subscription."""
        variables = {"agentId": agent_id, "input": input}
        with closing(
            self.execute_ws(STREAM_PROMPT, "StreamPrompt", variables, **kwargs)
        ) as results:
            for data in results:
                yield StreamChunkFields.model_validate(data["streamPrompt"])

    def send_message(
        self, thread_id: str, input: MessageInput, **kwargs: Any
    ) -> Generator[StreamChunkFields, None, None]:
        """The sendMessage subscription (see ask)."""
        variables = {"threadId": thread_id, "input": input}
        with closing(self.execute_ws(SEND_MESSAGE, "SendMessage", variables, **kwargs)) as results:
            for data in results:
                yield StreamChunkFields.model_validate(data["sendMessage"])

    def approval_requests(
        self, *, on_subscribed: Callable[[], None] | None = None, **kwargs: Any
    ) -> Generator[ApprovalFields, None, None]:
        """The approvalRequests subscription: each new PENDING approval the caller may
        decide, as it is asked. `on_subscribed` is called once the server has been asked
        (list what already waits from there: nothing falls between the two, and one asked
        just before may come in both, so go by id)."""
        with closing(
            self.execute_ws(
                APPROVAL_REQUESTS, "ApprovalRequests", {}, on_subscribed=on_subscribed, **kwargs
            )
        ) as results:
            for data in results:
                yield ApprovalFields.model_validate(data["approvalRequests"])

    # --- live ------------------------------------------------------------------------------

    def watch_agent_events(
        self, agent_id: str, after: int | None = None, *, patience: float | None = 60.0
    ) -> Generator[AgentEventFields, None, None]:
        """The agent's events, resumed after a dropped connection from the last `seq`
        seen, so none is missed or repeated. `after`: the last seq already seen (0:
        everything stored; None: only events from now on, and until the first arrives a
        drop can miss some). `patience`: how long the connection may stay away before
        KaiConnectionError is raised (None: forever)."""
        last = after
        reconnects = Reconnects(patience)
        while True:
            try:
                with closing(self.agent_events(agent_id, after=last)) as events:
                    for event in events:
                        if last is not None and event.seq <= last:
                            continue
                        last = event.seq
                        reconnects.progress()
                        yield event
                return
            except KaiConnectionError as exc:
                time.sleep(reconnects.next_delay(exc))

    def watch_task(
        self, task_id: str, *, patience: float | None = 60.0
    ) -> Generator[TaskFields, None, None]:
        """The task now, then on every change, until it ends (COMPLETED, FAILED or
        CANCELLED); resumed after a dropped connection (the task as it is then, unless
        unchanged)."""
        last: TaskFields | None = None
        reconnects = Reconnects(patience)
        while True:
            try:
                with closing(self.task_updates(task_id)) as updates:
                    for task in updates:
                        if task == last:
                            continue
                        last = task
                        reconnects.progress()
                        yield task
                return
            except KaiConnectionError as exc:
                if last is not None and last.state in TERMINAL_TASK_STATES:
                    return
                time.sleep(reconnects.next_delay(exc))

    def wait_for_task(self, task_id: str) -> TaskFields:
        """The task once it has ended."""
        with closing(self.watch_task(task_id)) as updates:
            for task in updates:
                if task.state in TERMINAL_TASK_STATES:
                    return task
        raise KaiProtocolError(f"the updates of task {task_id} ended before the task did")

    def prompt(
        self, agent_id: str, prompt: str, options: Any = None
    ) -> Generator[StreamChunkFields, None, None]:
        """The agent's answer, chunk by chunk, the last with done=True. Not resumed: a
        dropped connection raises KaiConnectionError (the agent's STREAM_CHUNK events keep
        the answer)."""
        yield from self.stream_prompt(agent_id, StreamPromptInput(prompt=prompt, options=options))

    def ask(
        self,
        thread_id: str,
        content: str,
        *,
        on_busy: BusyPolicy | None = None,
        options: Any = None,
    ) -> Generator[StreamChunkFields, None, None]:
        """Sends a message to a thread; its answer, chunk by chunk, the last with
        done=True. The thread keeps both. `on_busy` (REJECT when None): what to do while
        the thread answers another message (ConflictError, QUEUE: wait, INTERRUPT: cut it
        short). Closing the generator before the end stops the answer, which the thread
        keeps as far as it got, marked interrupted. Not resumed: a dropped connection
        raises KaiConnectionError (and the answer is kept so too)."""
        input = MessageInput(content=content, options=options, on_busy=on_busy)
        yield from self.send_message(thread_id, input)
