"""GraphQL over HTTP as a user, and users and agents seeded through the API; the settings
that let a bench's calls through kAI's rate limits (`UNLIMITED`).

Every bench that talks to `kai serve` signs a user up and calls the API through `Api`
(calls fail loudly: GraphQLFailed); bench/http.py and bench/queries.py also share the
nested agents query and `seed`, which makes many agents with files, commands and tasks.

Seeding goes through kAI's own GraphQL API (over a real socket or an in-process ASGI
transport), so the rows are exactly what users would have made: `echo` agents, and for
every tenth agent one uploaded file (a small PNG: not indexed for search, so no
background task runs while the benchmark does), one finished command (so the status
has command timings to aggregate) and one task delayed by an hour (so the task counts
are not empty and no worker touches the database while the query is measured).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import httpx

from bench._support import PASSWORD

# Settings that take kAI's rate limits out of a bench's way: 0 turns a per-minute
# family's limit off; sign-ins are counted by another limiter, set far above any bench.
UNLIMITED = {
    "KAI_RATE_LIMIT_AUTH_PER_IP": "100000",
    "KAI_RATE_LIMIT_AUTH_PER_ACCOUNT": "100000",
    **{
        f"KAI_RATE_LIMIT_{family}_PER_MINUTE": "0"
        for family in ("QUERY", "MUTATION", "SUBSCRIBE", "UPLOAD", "AGENT", "ANONYMOUS")
    },
}

REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }"
CREATE_ECHO = 'mutation { createAgent(input: {name: "bench", type: "echo"}) { id } }'
ME = "{ me { id email } }"
# Each agent of the nested list: its owner, status (with health) and files.
NESTED_FIELDS = (
    "id name owner { id email } status { state health { status } } files { id originalName size }"
)
# `agents` is a connection: one page of `$first` agents (1 to 500), newest first.
# The whole list in one request, as long as it holds no more than 500 agents.
NESTED_AGENTS = (
    "query($first: Int!) { agents(first: $first) { edges { node { " + NESTED_FIELDS + " } } } }"
)
CREATE_AGENT = "mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }"
COMMAND = """
mutation($agentId: ID!) {
  sendCommand(agentId: $agentId, command: {command: "ping", params: {n: 1}}) { success }
}
"""
ENQUEUE = """
mutation($agentId: ID!) {
  enqueueTask(agentId: $agentId, input: {type: "echo", delaySeconds: 3600}) { id }
}
"""
UPLOAD = """
mutation($file: Upload!, $agentId: ID) { uploadFile(file: $file, agentId: $agentId) { id } }
"""


class GraphQLFailed(RuntimeError):
    pass


def data_of(response: httpx.Response) -> Any:
    """The `data` of a GraphQL response; GraphQLFailed if it is not a clean 200."""
    try:
        body = response.json()
    except ValueError:
        raise GraphQLFailed(f"HTTP {response.status_code}: {response.text[:500]}") from None
    if response.status_code != 200 or body.get("errors"):
        raise GraphQLFailed(f"HTTP {response.status_code}: {json.dumps(body)[:1000]}")
    return body["data"]


def request(query: str, variables: dict[str, Any] | None, token: str) -> dict[str, Any]:
    """httpx.post's keyword arguments for a GraphQL request as the user of `token`."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return {"json": {"query": query, "variables": variables or {}}, "headers": headers}


class Api:
    """GraphQL over HTTP (or an ASGI transport) as one user, once registered."""

    def __init__(self, http: httpx.AsyncClient, token: str = ""):
        self.http = http
        self.token = token

    async def call(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return data_of(await self.http.post("/graphql", **request(query, variables, self.token)))

    async def register(self, email: str = "bench@example.com") -> str:
        """Signs up (the first user is an ADMIN); the access token, kept for the next calls."""
        credentials = {"email": email, "password": PASSWORD}
        self.token = (await self.call(REGISTER, {"input": credentials}))["register"]["accessToken"]
        return self.token

    async def echo_agent(self) -> str:
        """A new `echo` agent of the user's; its id."""
        return str((await self.call(CREATE_ECHO))["createAgent"]["id"])


def png_head(side: int = 16) -> bytes:
    """A PNG signature and IHDR chunk (what the sniffer reads) of a `side` x `side` image."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    )


def png(extra: int = 64) -> bytes:
    """A small PNG's head, then some bytes."""
    return png_head() + os.urandom(extra)


async def upload(api: Api, agent_id: str, index: int) -> None:
    """A small PNG, uploaded for the agent."""
    operations = {"query": UPLOAD, "variables": {"file": None, "agentId": agent_id}}
    response = await api.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (f"file-{index}.png", png(), "image/png")},
        headers={"authorization": f"Bearer {api.token}"},
    )
    data_of(response)


@dataclass
class Seeded:
    token: str
    agent_ids: list[str]
    files: int


async def seed(
    http: httpx.AsyncClient, agents: int, *, every: int = 10, parallel: int = 8
) -> Seeded:
    """Registers the first user (an ADMIN: `agents` lists every agent) and makes `agents`
    echo agents; every `every`-th gets a file, a command and a delayed task."""
    api = Api(http)
    await api.register(f"bench-{secrets.token_hex(4)}@example.com")
    gate = asyncio.Semaphore(parallel)
    files = 0

    async def one(index: int) -> str:
        nonlocal files
        async with gate:
            created = await api.call(
                CREATE_AGENT, {"input": {"name": f"agent-{index:04d}", "type": "echo"}}
            )
            agent_id = str(created["createAgent"]["id"])
            if index % every == 0:
                await upload(api, agent_id, index)
                await api.call(COMMAND, {"agentId": agent_id})
                await api.call(ENQUEUE, {"agentId": agent_id})
                files += 1
            return agent_id

    agent_ids = await asyncio.gather(*(one(i) for i in range(agents)))
    return Seeded(token=api.token, agent_ids=list(agent_ids), files=files)


def nodes(connection: dict[str, Any]) -> list[Any]:
    """The items of a page of a connection (`{ edges { node { ... } } }`), in order."""
    return [edge["node"] for edge in connection["edges"]]
