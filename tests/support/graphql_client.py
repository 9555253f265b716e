"""A small GraphQL-over-HTTP client for tests, with helpers for signing in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken expiresAt user { id email role } }
}
"""
LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken expiresAt user { id email role } }
}
"""
CREATE_API_KEY = """
mutation CreateApiKey($input: ApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id prefix permissions agentIds active } }
}
"""
DEFAULT_PASSWORD = "correct horse battery staple"


@dataclass
class Result:
    status: int
    body: dict[str, Any]
    headers: httpx.Headers

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert self.status == 200 and not self.errors, self.body
        return self.data


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient):
        self.http = http

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        return Result(response.status_code, response.json(), response.headers)

    async def register(
        self, email: str, password: str = DEFAULT_PASSWORD, display_name: str | None = None
    ) -> dict[str, Any]:
        result = await self.execute(
            REGISTER,
            {"input": {"email": email, "password": password, "displayName": display_name}},
        )
        return result.ok()["register"]  # type: ignore[no-any-return]

    async def login(self, email: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
        result = await self.execute(LOGIN, {"input": {"email": email, "password": password}})
        return result.ok()["login"]  # type: ignore[no-any-return]

    async def create_api_key(self, token: str, **input: Any) -> dict[str, Any]:
        input.setdefault("name", "test key")
        result = await self.execute(CREATE_API_KEY, {"input": input}, token=token)
        return result.ok()["createApiKey"]  # type: ignore[no-any-return]


def nodes(connection: dict[str, Any]) -> list[Any]:
    """The items of a connection's page (`{ edges { node { … } } }`)."""
    return [edge["node"] for edge in connection["edges"]]
