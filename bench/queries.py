"""SQL statements and time of the nested agents query, at 10, 100 and 1,000 agents.

The query (bench/http.py's, with pageInfo to walk on from one page to the next):

    query($first: Int!, $after: String) {
      agents(first: $first, after: $after) {
        edges { node { id name owner { id email } status { state health { status } }
                       files { id originalName size } } }
        pageInfo { hasNextPage endCursor }
      }
    }

asks for the whole list: one page of all the agents, or, past 500 (the most a page
holds; `--page` asks for smaller pages), pages of 500, each request starting after the
last one's endCursor. It runs
in-process: kAI's app with its lifespan, through httpx's ASGITransport, on SQLite
in a temp directory, and on PostgreSQL too when a server is named (`--postgres`, else
KAI_BENCH_DATABASE_URL or KAI_TEST_DATABASE_URL): a fresh database for each size,
dropped at the end. For each size a new database is seeded through the API (`echo`
agents; every tenth with a file, a finished command and a delayed task), the query
is warmed up, then run `--repeats` times one at a time; every statement the engine
sends is counted per request (a SQLAlchemy `before_cursor_execute` listener, as
tests/test_agent_queries.py does) and the whole list timed (at 1,000 agents: its two
requests).

The number of statements of a request must not depend on the number of agents
(relation fields go through DataLoaders; a page is one statement): the bench prints
them, and exits with status 1 when they differ between requests, repeats or sizes.

    uv run python bench/queries.py [--sizes 10,100,1000] [--repeats 20] [--postgres URL]
    uv run python bench/queries.py --quick   # 3 and 12 agents in pages of 5: what CI runs
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/queries.py`, bench/ would be first on sys.path: the checkout instead
# (bench/http.py is named like the standard library's `http`; the benches import `bench.*`).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import contextvars
import logging
import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import event

from bench._seed import NESTED_FIELDS, data_of, nodes, seed
from bench._support import (
    SECRET,
    Column,
    Table,
    fail,
    machine,
    parse,
    parser,
    postgres_admin_url,
    postgres_database,
)
from kai.app import create_app
from kai.config import Settings
from kai.services.pagination import MAX_PAGE

HIGH = 100_000_000  # rate limits far above what seeding needs
QUICK = {"sizes": "3,12", "repeats": 2, "page": 5}
# The nested list, a page at a time; a page of `first` agents, after the cursor `after`.
NESTED_AGENTS_PAGE = (
    "query($first: Int!, $after: String) { agents(first: $first, after: $after) { "
    "edges { node { " + NESTED_FIELDS + " } } pageInfo { hasNextPage endCursor } } }"
)


@dataclass
class Run:
    backend: str
    agents: int
    page: int  # the most agents a request asks for
    statements: list[list[str]] = field(default_factory=list)  # of each request
    seconds: list[float] = field(default_factory=list)  # of each whole list
    seed_seconds: float = 0.0

    @property
    def pages(self) -> int:
        return -(-self.agents // self.page)

    @property
    def counts(self) -> set[int]:
        return {len(s) for s in self.statements}

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p90_ms(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))] * 1000


# Set while the measured query runs: the app's own housekeeping (task counts for
# /metrics every 5 s, the remote agents' sweep) runs in tasks started before it, whose
# statements are not the query's (SQLAlchemy carries context variables into its greenlets).
MEASURING: contextvars.ContextVar[bool] = contextvars.ContextVar("measuring", default=False)


@contextmanager
def counting(engine: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if MEASURING.get():
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    token = MEASURING.set(True)
    try:
        yield statements
    finally:
        MEASURING.reset(token)
        event.remove(engine, "before_cursor_execute", count)


def settings_for(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        env="development",
        data_dir=data_dir,
        database_url=database_url,
        jwt_secret=SECRET,
        qdrant_url=":memory:",
        log_level="WARNING",
        # No background housekeeping while statements are counted: it would be counted too.
        task_sweep_seconds=3600,
        schedule_tick_seconds=3600,
        webhook_poll_seconds=3600,
        rate_limit_query_per_minute=HIGH,
        rate_limit_mutation_per_minute=HIGH,
        rate_limit_upload_per_minute=HIGH,
        rate_limit_auth_per_ip=HIGH,
        rate_limit_auth_per_account=HIGH,
        # One user owns every agent: the per-user quota (100 by default) must not stop it.
        quota_agents_per_user=HIGH,
    )


@asynccontextmanager
async def sqlite_database(scratch: Path, name: str) -> AsyncIterator[str]:
    yield f"sqlite+aiosqlite:///{scratch / name}.db"


async def measure(
    backend: str, database_url: str, scratch: Path, agents: int, args: argparse.Namespace
) -> Run:
    run = Run(backend, agents, min(agents, args.page))
    # As `kai serve` runs it (kai/cli.py): start-up objects out of the collector's full passes.
    settings = settings_for(database_url, scratch / f"data-{backend}-{agents}")
    app = create_app(settings, freeze_heap=True)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60):
        engine = app.state.services.engine.sync_engine
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            began = time.perf_counter()
            seeded = await seed(http, agents)
            run.seed_seconds = time.perf_counter() - began
            headers = {"authorization": f"Bearer {seeded.token}"}

            async def page(after: str | None) -> Any:
                variables = {"first": run.page, "after": after}
                body = {"query": NESTED_AGENTS_PAGE, "variables": variables}
                return data_of(await http.post("/graphql", json=body, headers=headers))["agents"]

            async def whole_list(counted: list[list[str]] | None = None) -> list[Any]:
                """Every agent, a page (one request) at a time; with `counted`, each
                request's statements appended to it."""
                listed: list[Any] = []
                after = None
                while True:
                    if counted is None:
                        connection = await page(after)
                    else:
                        with counting(engine) as statements:
                            connection = await page(after)
                        counted.append(statements)
                    listed += nodes(connection)
                    if not connection["pageInfo"]["hasNextPage"]:
                        return listed
                    after = connection["pageInfo"]["endCursor"]

            # Warm-up: caches, and the session's "last used" touch (once a minute) if due.
            for _ in range(3):
                listed = await whole_list()
            if (
                sorted(a["id"] for a in listed) != sorted(seeded.agent_ids)
                or sum(len(a["files"]) for a in listed) != seeded.files
            ):
                fail(f"{backend}, {agents} agents: unexpected answer")
            for _ in range(args.repeats):
                began = time.perf_counter()
                await whole_list(run.statements)
                run.seconds.append(time.perf_counter() - began)
    return run


def shorten(statement: str, width: int = 150) -> str:
    flat = re.sub(r"\s+", " ", statement).strip()
    # Expanded IN lists and VALUES rows would make the same statement look different.
    flat = re.sub(r"\((?:\s*(?:\?|\$\d+(?:::[A-Z ]+)?|__\[POSTCOMPILE_\w+\])\s*,?)+\)", "(…)", flat)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


TABLE = Table(
    Column("backend   ", "s", "<"),
    Column("agents", "d"),
    Column("pages", "d"),
    Column("statements/request", "s", ">"),
    Column("median ms", ".1f"),
    Column("p90 ms", ".1f"),
    Column("seeding s", ".1f"),
)


def report(runs: list[Run], page: int) -> bool:
    print(machine())
    print(
        "nested agents query, in-process (httpx ASGITransport), one at a time; "
        f"the whole list, in pages of up to {page}:"
    )
    TABLE.header()
    for run in runs:
        counts = "/".join(str(c) for c in sorted(run.counts))
        TABLE.row(
            run.backend, run.agents, run.pages, counts, run.median_ms, run.p90_ms, run.seed_seconds
        )
    constant = True
    for backend in dict.fromkeys(run.backend for run in runs):
        mine = [run for run in runs if run.backend == backend]
        seen: set[int] = set().union(*(run.counts for run in mine))
        ok = len(seen) == 1
        constant = constant and ok
        print(
            f"{backend}: {'constant' if ok else 'NOT CONSTANT'}: "
            f"{', '.join(f'{r.agents} agents: {sorted(r.counts)}' for r in mine)}"
        )
        print(f"  the statements of one request ({mine[0].agents} agents):")
        for number, statement in enumerate(mine[0].statements[0], 1):
            print(f"    {number:2d}. {shorten(statement)}")
        if not ok:
            largest = mine[-1].statements[-1]
            print(f"  and of the last request with {mine[-1].agents} agents:")
            for number, statement in enumerate(largest, 1):
                print(f"    {number:2d}. {shorten(statement)}")
    return constant


async def main() -> None:
    options = parser(__doc__, "bench/queries.py")
    options.add_argument(
        "--sizes", default="10,100,1000", help="agent counts, comma-separated (10,100,1000)"
    )
    options.add_argument("--repeats", type=int, default=20, help="timed lists per size")
    options.add_argument(
        "--page",
        type=int,
        default=MAX_PAGE,
        help=f"the most agents a request asks for ({MAX_PAGE}, the most a page holds)",
    )
    options.add_argument(
        "--postgres",
        default=postgres_admin_url(),
        help="PostgreSQL server (asyncpg URL) to run on too, in fresh databases; default: "
        "KAI_BENCH_DATABASE_URL, else KAI_TEST_DATABASE_URL; unset: SQLite only",
    )
    options.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parse(options, QUICK)
    try:
        sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        options.error("--sizes: numbers separated by commas")
    if args.repeats < 1 or not sizes or min(sizes) < 1:
        options.error("--repeats and every size must be at least 1")
    if not 1 <= args.page <= MAX_PAGE:
        options.error(f"--page: from 1 to {MAX_PAGE}")
    postgres = None if args.no_postgres else args.postgres
    # "No virus scanner configured", once per app: expected here (no uploads are scanned).
    logging.getLogger("kai.container").setLevel(logging.ERROR)

    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="kai-bench-queries-") as scratch_name:
        scratch = Path(scratch_name)
        for agents in sizes:
            async with sqlite_database(scratch, f"kai-{agents}") as url:
                runs.append(await measure("sqlite", url, scratch, agents, args))
            print(f"  sqlite, {agents} agents: {runs[-1].median_ms:.1f} ms", flush=True)
        if postgres:
            for agents in sizes:
                async with postgres_database(postgres, "kai_bench_queries") as url:
                    runs.append(await measure("postgresql", url, scratch, agents, args))
                print(f"  postgresql, {agents} agents: {runs[-1].median_ms:.1f} ms", flush=True)
        else:
            print("  (no PostgreSQL: set KAI_BENCH_DATABASE_URL or pass --postgres to add it)")
    if not report(runs, args.page):
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
