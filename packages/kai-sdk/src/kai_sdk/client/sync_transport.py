"""The sync transport under GraphQLClient (kai_sdk.client.sync): httpx.Client for
queries, mutations and uploads, websockets' threading client for subscriptions. What it
does is described in kai_sdk.client.transport."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Generator, Mapping
from contextlib import closing
from typing import Any, Self, cast

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect as sync_connect

from kai_sdk.client.errors import KaiConnectionError, UnauthenticatedError, has_code
from kai_sdk.client.tokens import Tokens
from kai_sdk.client.transport import (
    GRAPHQL_TRANSPORT_WS,
    USER_AGENT,
    Files,
    TokenOperations,
    Transport,
)


class SyncTransport(Transport):
    """The sync transport (httpx.Client, websockets' threading client); one client may
    be used from several threads."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        *,
        api_key: str | None = None,
        tokens: Tokens | None = None,
        on_tokens: Callable[[Tokens | None], None] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        refresh_margin: float = 30.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            url,
            api_key=api_key,
            tokens=tokens,
            on_tokens=on_tokens,
            headers=headers,
            timeout=timeout,
            refresh_margin=refresh_margin,
        )
        self.http_client = http_client or httpx.Client(timeout=timeout)
        self._refreshing = threading.RLock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http_client.close()

    def refresh(self) -> Tokens:
        """Spends the refresh token for a new pair now (the client does so by itself when
        the access token expires); UnauthenticatedError without a session."""
        tokens = self._tokens
        if tokens is None:
            raise UnauthenticatedError("no session to refresh", code="UNAUTHENTICATED")
        self._refresh(tokens)
        assert self._tokens is not None
        return self._tokens

    def _refresh(self, stale: Tokens) -> None:
        with self._refreshing:
            if self._tokens is not stale:
                return
            try:
                cast(TokenOperations, self).refresh_token(refresh_token=stale.refresh_token)
            except UnauthenticatedError:
                if self._tokens is stale:
                    self._set_tokens(None)
                raise

    def execute(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        payload, files, file_map = self._prepare(query, operation_name, variables)
        stale = self._needs_refresh(operation_name)
        if stale is not None:
            self._refresh(stale)
        positions = self._positions(files)
        sent = self._tokens
        response = self._post(payload, files, file_map, operation_name, kwargs)
        if (
            self._refreshable(sent, operation_name)
            and has_code(self._errors_of(response), "UNAUTHENTICATED")
            and positions is not None
        ):
            assert sent is not None
            self._refresh(sent)
            for content, position in positions:
                content.seek(position)
            response = self._post(payload, files, file_map, operation_name, kwargs)
        self._remember(operation_name, response)
        return response

    def _post(
        self,
        payload: dict[str, Any],
        files: Files,
        file_map: dict[str, list[str]],
        operation_name: str | None,
        kwargs: dict[str, Any],
    ) -> httpx.Response:
        options = self._http_kwargs(payload, files, file_map, operation_name, kwargs)
        try:
            return self.http_client.post(self.url, **options)
        except httpx.TransportError as exc:
            raise KaiConnectionError(f"cannot reach {self.url}: {exc!r}") from exc

    def execute_ws(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        *,
        on_subscribed: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> Generator[dict[str, Any], None, None]:
        """The operation's results over graphql-transport-ws, until the server completes
        it. A refused credential at the start is refreshed once (with a session).
        `on_subscribed` is called once the subscribe message is sent (what the server
        sends from then on will come): a reader that also lists what came before it
        lists from there, and misses nothing between the two."""
        payload, files, _ = self._prepare(query, operation_name, variables)
        if files:
            raise ValueError("uploads go over HTTP, not in a subscription")
        stale = self._needs_refresh(operation_name)
        if stale is not None:
            self._refresh(stale)
        retried = False
        while True:
            sent = self._tokens
            started = False
            try:
                subscribing = self._subscribe(payload, operation_name, kwargs, on_subscribed)
                with closing(subscribing) as results:
                    for data in results:
                        started = True
                        yield data
                return
            except UnauthenticatedError:
                if started or retried or not self._refreshable(sent, operation_name):
                    raise
                assert sent is not None
                retried = True
                self._refresh(sent)

    def _subscribe(
        self,
        payload: dict[str, Any],
        operation_name: str | None,
        kwargs: dict[str, Any],
        on_subscribed: Callable[[], None] | None = None,
    ) -> Generator[dict[str, Any], None, None]:
        operation_id = uuid.uuid4().hex
        acknowledged = False
        try:
            with sync_connect(
                self.ws_url,
                subprotocols=[GRAPHQL_TRANSPORT_WS],
                additional_headers=self._ws_headers(),
                user_agent_header=USER_AGENT,
                open_timeout=self.timeout,
                close_timeout=2,
                max_size=None,
                **kwargs,
            ) as ws:
                ws.send(self._init_message(operation_name))
                while not acknowledged:
                    message = self._decode(ws.recv(timeout=self.timeout))
                    if message["type"] == "ping":
                        ws.send(json.dumps({"type": "pong"}))
                    acknowledged = message["type"] == "connection_ack"
                ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))
                if on_subscribed is not None:
                    on_subscribed()
                while True:
                    message = self._decode(ws.recv())
                    if message["type"] == "ping":
                        ws.send(json.dumps({"type": "pong"}))
                    elif message["type"] == "complete" and message.get("id") == operation_id:
                        return
                    elif (data := self._result(message, operation_id)) is not None:
                        yield data
        except ConnectionClosed as exc:
            raise self._closed(exc, acknowledged=acknowledged) from exc
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise self._unreachable(exc) from exc
