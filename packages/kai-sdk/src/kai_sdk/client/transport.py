"""kAI's transport under the generated clients: HTTP, uploads and graphql-transport-ws.

The generated clients (kai_sdk.client.aio.AsyncGraphQLClient and
kai_sdk.client.sync.GraphQLClient) call `execute`, `get_data` and, for subscriptions,
`execute_ws`; their base classes (codegen/async_base_client.py, codegen/base_client.py)
are AsyncTransport (async_transport.py) and SyncTransport (sync_transport.py), which
do the I/O; this module is what they share. What they add to a plain GraphQL transport:

- Credentials. An API key, or a session's tokens: every request carries
  `Authorization: Bearer ...`. A successful `login`, `register`, `verifyMagicLink` or
  `refreshToken` stores the session's new tokens; `logout` forgets them. Before a request
  whose access token expires within `refresh_margin` seconds, and once after a request
  answered UNAUTHENTICATED, the refresh token is spent for a new pair (one refresh at a
  time; a request that waited for another's refresh uses its result), and `on_tokens`
  hears of every change. A refresh that fails forgets the tokens.
- Errors. A response with errors raises the first one's class for its `extensions.code`
  (kai_sdk.client.errors), whatever the HTTP status; an answer that is not GraphQL raises
  KaiProtocolError, a server that cannot be reached KaiConnectionError.
- Uploads. Variables holding an `Upload` go as a GraphQL multipart request
  (https://github.com/jaydenseric/graphql-multipart-request-spec), streamed from the file.
- Subscriptions. One WebSocket per operation, graphql-transport-ws, the credential in
  `connection_init`. Results come until the server's `complete`; a socket that closes
  before it raises KaiConnectionError with the close code (1001: the server is going
  away; 4413: the reader fell behind; 4403 after the start: the credential stopped
  working), which the clients' `watch_*` methods resume from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import IO, Any, ClassVar

import httpx
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from kai_sdk.client.errors import (
    KaiClientError,
    KaiConnectionError,
    KaiProtocolError,
    RateLimitedError,
    UnauthenticatedError,
    error_from,
)
from kai_sdk.client.tokens import Tokens

# Operations that answer a session's tokens (an AuthPayload with these fields).
SIGN_IN = {"Login", "Register", "VerifyMagicLink", "RefreshToken"}
TOKEN_FIELDS = {"accessToken", "refreshToken", "expiresAt"}
# Operations sent without credentials: they are how one gets some.
ANONYMOUS = {*SIGN_IN, "RequestMagicLink"}
GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")
# Close codes after which reconnecting would only fail again the same way.
CLOSE_FINAL = {4400, 4401, 4408, 4429, 1009}
CLOSE_CREDENTIALS = 4403
USER_AGENT = "kai-sdk-python"

Files = dict[str, tuple[str, IO[bytes], str]]


class TokenOperations:
    """What the generated client adds that the transport calls: the RefreshToken and
    Logout operations (graphql/operations/auth.graphql)."""

    refresh_token: Callable[..., Any]
    logout: Callable[..., Any]


class Transport:
    """What the async and the sync transport share: configuration, credentials, the shape
    of requests and the reading of answers. No I/O."""

    # Set by the generated package's base class: its own UNSET marker and Upload class.
    unset: ClassVar[object] = object()
    upload_type: ClassVar[type[Any]] = type(None)

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
    ) -> None:
        """`url`: the server (http://host:port) or its GraphQL endpoint (.../graphql).
        `api_key` or `tokens`: the credential to start with (none: sign in later).
        `on_tokens`: called with the session's tokens whenever they change (None once
        they are gone). `headers`: sent with every request. `refresh_margin`: refresh an
        access token this many seconds before it expires."""
        base = url.rstrip("/")
        base = base.removesuffix("/graphql")
        self.base_url = base
        self.url = f"{base}/graphql"
        self.ws_url = "ws" + self.url.removeprefix("http") if base.startswith("http") else self.url
        self.headers = {"user-agent": USER_AGENT, **(headers or {})}
        self.timeout = timeout
        self.refresh_margin = refresh_margin
        self.on_tokens = on_tokens
        self._api_key = api_key
        self._tokens = tokens

    # --- credentials -----------------------------------------------------------------

    @property
    def tokens(self) -> Tokens | None:
        """The session's tokens, None with an API key or signed out."""
        return self._tokens

    @property
    def api_key(self) -> str | None:
        return self._api_key

    def use_api_key(self, api_key: str) -> None:
        """Authenticate with an API key from now on (forgets any session's tokens)."""
        self._api_key = api_key
        self._set_tokens(None)

    def use_tokens(self, tokens: Tokens | None) -> None:
        """Authenticate with a session's tokens from now on (e.g. stored ones)."""
        self._api_key = None
        self._set_tokens(tokens)

    def _set_tokens(self, tokens: Tokens | None) -> None:
        changed = tokens != self._tokens
        self._tokens = tokens
        if tokens is not None:
            self._api_key = None
        if changed and self.on_tokens is not None:
            self.on_tokens(tokens)

    def _bearer(self, operation_name: str | None) -> str | None:
        if operation_name in ANONYMOUS:
            return None
        if self._tokens is not None:
            return self._tokens.access_token
        return self._api_key

    def _needs_refresh(self, operation_name: str | None) -> Tokens | None:
        """The tokens to refresh before this operation, if they are about to expire."""
        tokens = self._tokens
        if operation_name in ANONYMOUS or tokens is None:
            return None
        return tokens if tokens.expires_in() < self.refresh_margin else None

    def _refreshable(self, sent: Tokens | None, operation_name: str | None) -> bool:
        return sent is not None and operation_name not in ANONYMOUS

    # --- requests ----------------------------------------------------------------------

    def _request_headers(self, operation_name: str | None, extra: Any) -> dict[str, str]:
        headers = dict(self.headers)
        bearer = self._bearer(operation_name)
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        if isinstance(extra, Mapping):
            headers.update(extra)
        return headers

    def _prepare(
        self, query: str, operation_name: str | None, variables: dict[str, Any] | None
    ) -> tuple[dict[str, Any], Files, dict[str, list[str]]]:
        """The request's JSON payload, with each Upload replaced by null and listed in
        the files and the map of a multipart request."""
        files: Files = {}
        file_map: dict[str, list[str]] = {}

        def convert(value: Any, path: str) -> Any:
            if isinstance(value, self.upload_type):
                key = str(len(files))
                files[key] = (value.filename, value.content, value.content_type)
                file_map[key] = [path]
                return None
            if isinstance(value, BaseModel):
                value = value.model_dump(by_alias=True, exclude_unset=True)
            if isinstance(value, Mapping):
                return {
                    str(k): convert(v, f"{path}.{k}")
                    for k, v in value.items()
                    if v is not self.unset
                }
            if isinstance(value, list | tuple):
                return [convert(v, f"{path}.{i}") for i, v in enumerate(value)]
            return value

        converted = convert(variables or {}, "variables")
        payload: dict[str, Any] = {"query": query, "variables": to_jsonable_python(converted)}
        if operation_name:
            payload["operationName"] = operation_name
        return payload, files, file_map

    def _http_kwargs(
        self,
        payload: dict[str, Any],
        files: Files,
        file_map: dict[str, list[str]],
        operation_name: str | None,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        options = dict(kwargs)
        headers = self._request_headers(operation_name, options.pop("headers", None))
        options.setdefault("timeout", self.timeout)
        if files:
            # The multipart request spec: `operations`, then `map`, then the files. The
            # preflight header tells the server this is no cross-site form post.
            headers["apollo-require-preflight"] = "true"
            options["data"] = {"operations": json.dumps(payload), "map": json.dumps(file_map)}
            options["files"] = files
        else:
            options["json"] = payload
        options["headers"] = headers
        return options

    @staticmethod
    def _positions(files: Files) -> list[tuple[IO[bytes], int]] | None:
        """Where each file's content starts, to send it again; None if one cannot seek."""
        positions = []
        for _, content, _ in files.values():
            try:
                if not content.seekable():
                    return None
                positions.append((content, content.tell()))
            except (AttributeError, OSError, ValueError):
                return None
        return positions

    @staticmethod
    def _errors_of(response: httpx.Response) -> list[dict[str, Any]]:
        try:
            body = response.json()
        except ValueError:
            return []
        errors = body.get("errors") if isinstance(body, dict) else None
        return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []

    def _remember(self, operation_name: str | None, response: httpx.Response) -> None:
        """Keeps the tokens a sign-in answered; forgets them after a logout."""
        if operation_name not in SIGN_IN and operation_name != "Logout":
            return
        try:
            body = response.json()
        except ValueError:
            return
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or body.get("errors"):
            return
        if operation_name == "Logout":
            if data.get("logout") is True:
                self._set_tokens(None)
            return
        # The AuthPayload, whatever alias the document gave its field.
        for payload in data.values():
            if isinstance(payload, dict) and payload.keys() >= TOKEN_FIELDS:
                self._set_tokens(
                    Tokens(
                        access_token=payload["accessToken"],
                        refresh_token=payload["refreshToken"],
                        expires_at=datetime.fromisoformat(payload["expiresAt"]),
                    )
                )
                return

    def get_data(self, response: httpx.Response) -> dict[str, Any]:
        """The response's `data`, or its first error raised as its code's class."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError as exc:
            raise KaiProtocolError(
                f"HTTP {status} from {self.url} is not a GraphQL response",
                status=status,
                body=response.text[:500],
            ) from exc
        if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
            raise KaiProtocolError(
                f"HTTP {status} from {self.url} is not a GraphQL response",
                status=status,
                body=response.text[:500],
            )
        errors = body.get("errors")
        if errors:
            error = error_from(
                [e if isinstance(e, dict) else {"message": str(e)} for e in errors],
                data=body.get("data"),
                status=status,
            )
            retry_after = response.headers.get("retry-after")
            if isinstance(error, RateLimitedError) and error.retry_after is None and retry_after:
                error.extensions["retryAfter"] = float(retry_after)
            raise error
        data = body.get("data")
        if not 200 <= status < 300 or not isinstance(data, dict):
            raise KaiProtocolError(
                f"HTTP {status} from {self.url} without data", status=status, body=response.text
            )
        return data

    # --- subscriptions -----------------------------------------------------------------

    def _init_message(self, operation_name: str | None) -> str:
        bearer = self._bearer(operation_name)
        init: dict[str, Any] = {"type": "connection_init"}
        if bearer:
            init["payload"] = {"authorization": f"Bearer {bearer}"}
        return json.dumps(init)

    def _ws_headers(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k.lower() != "user-agent"}

    @staticmethod
    def _decode(raw: str | bytes) -> dict[str, Any]:
        try:
            message = json.loads(raw)
        except ValueError as exc:
            raise KaiProtocolError(f"unreadable message: {raw[:200]!r}") from exc
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise KaiProtocolError(f"unreadable message: {raw[:200]!r}")
        return message

    @staticmethod
    def _result(message: dict[str, Any], operation_id: str) -> dict[str, Any] | None:
        """A `next`'s data; raises for an `error` or a result with errors; None for
        messages of no concern (another id)."""
        if message.get("id") != operation_id:
            return None
        payload = message.get("payload")
        if message["type"] == "error":
            errors = payload if isinstance(payload, list) else [{"message": str(payload)}]
            raise error_from(errors)
        if not isinstance(payload, dict):
            raise KaiProtocolError(f"a {message['type']} without a payload")
        if payload.get("errors"):
            raise error_from(payload["errors"], data=payload.get("data"))
        data = payload.get("data")
        if not isinstance(data, dict):
            raise KaiProtocolError("a result without data")
        return data

    def _closed(self, exc: ConnectionClosed, *, acknowledged: bool) -> KaiClientError:
        frame = exc.rcvd
        code = frame.code if frame is not None else None
        reason = frame.reason if frame is not None else ""
        if code == CLOSE_CREDENTIALS and not acknowledged:
            return UnauthenticatedError(
                f"the server refused the credentials ({code} {reason})".strip(),
                code="UNAUTHENTICATED",
            )
        if code in CLOSE_FINAL:
            return KaiProtocolError(f"the server closed the socket: {code} {reason}".strip())
        return KaiConnectionError(
            f"the connection to {self.ws_url} dropped ({code} {reason})".strip()
            if code is not None
            else f"the connection to {self.ws_url} dropped",
            close_code=code,
            close_reason=reason,
        )

    def _unreachable(self, exc: Exception) -> KaiClientError:
        if isinstance(exc, InvalidStatus):
            status = exc.response.status_code
            return KaiProtocolError(
                f"the server refused the WebSocket handshake: HTTP {status}", status=status
            )
        return KaiConnectionError(f"cannot reach {self.ws_url}: {exc!r}")
