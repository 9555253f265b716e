"""The baseline of bench/http.py: what a hand-written endpoint would do for the same answers.

A bare Starlette app with two POST routes, `/me` and `/agents`, that take the same JSON
body as /graphql (read and parsed; the query itself is ignored, and `/agents` takes its
page size from `variables.first` as kAI does), authenticate the bearer token with kAI's
own Authenticator (JWT check, session and user row, the same statement), read the same
rows as kAI does for `{ me { id email } }` and for the nested agents query, and answer
the same JSON (for `/agents` the connection's shape: `{"agents": {"edges": [{"node":
...}]}}`). What it leaves out is what kAI adds on top: GraphQL parsing, validation and
execution, DataLoaders, the query limits and rate limits, the audit rows, metrics,
request ids, the body cap, and the page's extra row and signed cursors.

Reads after authenticating, each one statement, in one session, one after the other:

- `/me`: nothing more: authenticating read the user's row (session and user, one
  statement), and the answer comes from it, as kAI's `me` does;
- `/agents`: a page of the caller's agents (every agent for an ADMIN, as `agents` lists
  them), newest first, `first` of them (`LIMIT first`: the query asks for no pageInfo,
  so nothing tells whether more follow), their owners, command totals and recent
  timings (kAI's AgentStatusService, two statements), task counts by state, and their
  files, newest first.

Served by uvicorn with the settings `kai serve` gives it:

    python -m bench._baseline_app --port 8001   # KAI_* settings from the environment
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kai.config import Settings
from kai.context import bearer_credential
from kai.db import create_engine, create_sessionmaker
from kai.errors import KaiError
from kai.models.agent import Agent
from kai.models.file import StoredFile
from kai.models.task import Task
from kai.models.user import User
from kai.security.authenticate import Authenticator
from kai.security.permissions import PermissionMatrix
from kai.security.principal import Principal
from kai.security.tokens import TokenService
from kai.services.agent_status import AgentStatusService, CommandStats, health_of
from kai.services.pagination import DEFAULT_PAGE, MAX_PAGE


@dataclass(frozen=True)
class Backend:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    authenticator: Authenticator
    status: AgentStatusService


def unauthenticated() -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": "Not signed in.", "extensions": {"code": "UNAUTHENTICATED"}}]}
    )


async def principal_of(
    request: Request, backend: Backend
) -> tuple[Principal | None, dict[str, Any]]:
    """The caller, and the request's variables: the same body as /graphql, read and parsed
    like a real endpoint's."""
    body = await request.json()
    variables = body.get("variables") if isinstance(body, dict) else None
    variables = variables if isinstance(variables, dict) else {}
    credential = bearer_credential(request.headers.get("authorization"))
    if not credential:
        return None, variables
    try:
        return await backend.authenticator.authenticate(credential), variables
    except KaiError:
        return None, variables


async def me(request: Request) -> JSONResponse:
    backend: Backend = request.app.state.backend
    principal, _ = await principal_of(request, backend)
    if principal is None:
        return unauthenticated()
    # The authenticator has just read the user's row: nothing more to read.
    return JSONResponse({"data": {"me": {"id": principal.user_id, "email": principal.email}}})


async def agents(request: Request) -> JSONResponse:
    backend: Backend = request.app.state.backend
    principal, variables = await principal_of(request, backend)
    if principal is None:
        return unauthenticated()
    if not principal.can("agent.read"):
        return JSONResponse(
            {"errors": [{"message": "Forbidden", "extensions": {"code": "FORBIDDEN"}}]}
        )
    first = variables.get("first")
    first = DEFAULT_PAGE if first is None else first
    if not isinstance(first, int) or not 1 <= first <= MAX_PAGE:
        return JSONResponse(
            {"errors": [{"message": "Bad first", "extensions": {"code": "BAD_USER_INPUT"}}]}
        )
    query = select(Agent)
    if not principal.is_admin:
        query = query.where(col(Agent.owner_id) == principal.user_id)
    if principal.agent_ids is not None:
        query = query.where(col(Agent.id).in_(sorted(principal.agent_ids)))
    # kAI's default order of `agents`: newest first, then by id the same way.
    query = query.order_by(col(Agent.created_at).desc(), col(Agent.id).desc()).limit(first)
    async with backend.sessionmaker() as session:
        rows = (await session.scalars(query)).all()
        ids = [row.id for row in rows]
        owner_ids = sorted({row.owner_id for row in rows})
        owners = {
            user.id: user
            for user in await session.scalars(select(User).where(col(User.id).in_(owner_ids)))
        }
        counts: dict[str, dict[str, int]] = {}
        for agent_id, state, count in await session.execute(
            select(col(Task.agent_id), col(Task.state), func.count())
            .where(col(Task.agent_id).in_(ids))
            .group_by(col(Task.agent_id), col(Task.state))
        ):
            counts.setdefault(str(agent_id), {})[state] = count
        files: dict[str, list[dict[str, Any]]] = {agent_id: [] for agent_id in ids}
        for file in await session.scalars(
            select(StoredFile)
            .where(col(StoredFile.agent_id).in_(ids))
            .order_by(col(StoredFile.uploaded_at).desc(), col(StoredFile.id).desc())
        ):
            assert file.agent_id is not None
            files[file.agent_id].append(
                {"id": file.id, "originalName": file.original_name, "size": file.size}
            )
    stats = await backend.status.command_stats(ids)
    timeout = backend.settings.heartbeat_timeout_seconds
    out = []
    for row in rows:
        owner = owners[row.owner_id]
        health = health_of(row, stats.get(row.id, CommandStats()), heartbeat_timeout=timeout)
        can_files = principal.can("file.download")
        node = {
            "id": row.id,
            "name": row.name,
            "owner": {"id": owner.id, "email": owner.email},
            "status": {"state": row.state.value, "health": {"status": health.status}},
            "files": files[row.id] if can_files else None,
        }
        out.append({"node": node})
    return JSONResponse({"data": {"agents": {"edges": out}}})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.resolved_database_url)
        sessionmaker = create_sessionmaker(engine)
        tokens = TokenService(settings)
        app.state.backend = Backend(
            settings=settings,
            sessionmaker=sessionmaker,
            authenticator=Authenticator(
                sessionmaker=sessionmaker,
                tokens=tokens,
                matrix=PermissionMatrix(settings.permissions),
                settings=settings,
            ),
            status=AgentStatusService(sessionmaker=sessionmaker),
        )
        # As `kai serve` does (kai/app.py, _freeze_heap): what start-up made stays out of
        # the collector's full passes, so the two servers differ only in their work.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await engine.dispose()

    return Starlette(
        routes=[
            Route("/me", me, methods=["POST"]),
            Route("/agents", agents, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def main() -> None:
    import uvicorn

    from kai import logs

    parser = argparse.ArgumentParser(description="The bare Starlette baseline of bench/http.py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    settings = Settings()
    logs.configure(settings.log_level, json_lines=settings.json_logs)
    # The uvicorn settings of `kai serve` (kai/cli.py), so the servers differ only in the app.
    config = uvicorn.Config(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        proxy_headers=False,
        ws_max_size=1024 * 1024,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
