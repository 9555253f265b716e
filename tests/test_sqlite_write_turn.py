"""On SQLite, every write of the process takes its turn (kai.db.write_turn).

A writer outside the turn holds the database's write lock beside the turn's holder, which
then waits for it in SQLite's busy loop (up to 30 s) where neither sees the other; when the
outsider is itself stopped or waiting, both are stuck. Each INSERT, UPDATE and DELETE that
a signed-in client's work causes is checked to run while the turn is held.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, update

from kai import db
from kai.models.base import utcnow
from kai.models.session import AuthSession
from tests.support.agents import COMMAND, create_echo, signed_in
from tests.support.apps import client_at, running_app
from tests.support.settings import QUIET_HOUSEKEEPING, make_settings

ENQUEUE = """
mutation Enqueue($agentId: ID!, $input: TaskInput!) {
  enqueueTask(agentId: $agentId, input: $input) { id }
}
"""


@contextmanager
def writes_outside_the_turn(app: Any) -> Iterator[list[str]]:
    services = app.state.services
    outside: list[str] = []

    def check(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in {"INSERT", "UPDATE", "DELETE"}:
            turn = db._SQLITE_WRITE_TURNS.get(services.sessionmaker)
            if turn is None or not turn.locked():
                outside.append(statement.strip().splitlines()[0])

    engine = services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", check)
    try:
        yield outside
    finally:
        event.remove(engine, "before_cursor_execute", check)


async def test_every_write_of_a_clients_work_takes_the_write_turn(
    sqlite_url: str, tmp_path: Any
) -> None:
    settings = make_settings(sqlite_url, tmp_path / "data", **QUIET_HOUSEKEEPING)
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        agent = await create_echo(client, token)
        # A session last used over a minute ago: the next request records its use.
        async with db.transaction(app.state.services.sessionmaker) as session:
            await session.execute(
                update(AuthSession).values(last_used_at=utcnow() - timedelta(minutes=5))
            )

        with writes_outside_the_turn(app) as outside:
            (await client.execute("{ me { id } }", token=token)).ok()
            await create_echo(client, token, name="second")
            variables = {"agentId": agent["id"], "command": {"command": "hello"}}
            (await client.execute(COMMAND, variables, token=token)).ok()
            task = {"type": "echo", "delaySeconds": 600}
            variables = {"agentId": agent["id"], "input": task}
            (await client.execute(ENQUEUE, variables, token=token)).ok()
            (await client.execute("mutation { logout }", token=token)).ok()

    assert outside == []
