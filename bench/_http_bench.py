"""The implementation of bench/http.py (see there): a module of its own, so that bench/http.py
can stay a stand-in for the standard library's `http` when imported by mistake."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench._seed import ME, NESTED_AGENTS, data_of, nodes, request, seed
from bench._support import (
    Column,
    Table,
    cpu_seconds,
    exit_on_sigterm,
    fail,
    free_port,
    kai,
    kai_env,
    machine,
    parse,
    parser,
    pinned,
    progress,
    require_proc,
    serving,
)
from kai.services.pagination import MAX_PAGE

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {authorization}

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-RESULT {{\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, "
    .. "\\"p99_us\\": %d, \\"mean_us\\": %f, \\"errors\\": %d}}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, e.connect + e.read + e.write + e.status + e.timeout))
end
"""
HUGE_BUDGET = "100000000"  # root fields a minute: far above what 2 cores can serve
QUICK = {"duration": 1, "warmup": 0, "rounds": 1, "agents": 10}


@dataclass(frozen=True)
class Target:
    name: str
    query: str
    bare_path: str
    goal: float  # GraphQL rps / bare rps, at least
    variables: dict[str, Any] = field(default_factory=dict)


def targets(agents: int) -> tuple[Target, ...]:
    """The queries, the nested list asking for a page of all `agents` agents."""
    # The performance issue's targets (docs/performance.md says how far each is).
    return (
        Target("me", ME, "/me", 0.7),
        Target("agents", NESTED_AGENTS, "/agents", 0.5, {"first": agents}),
    )


@dataclass(frozen=True)
class Measurement:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    cpu_ms: float  # server CPU time per request

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


class Wrk:
    def __init__(self, scratch: Path, token: str, *, connections: int, cpu: int | None):
        self.binary = shutil.which("wrk")
        if self.binary is None:
            fail(
                "needs wrk, the HTTP load generator: `apt-get install -y wrk` "
                "(Debian, Ubuntu) or `brew install wrk` (macOS)"
            )
        self.scratch = scratch
        self.token = token
        self.connections = connections
        self.cpu = cpu

    def script(self, query: str, variables: dict[str, Any]) -> Path:
        body = json.dumps({"query": query, "variables": variables})
        path = self.scratch / f"wrk-{abs(hash(body))}.lua"
        path.write_text(
            WRK_SCRIPT.format(
                body=json.dumps(body), authorization=json.dumps(f"Bearer {self.token}")
            )
        )
        return path

    def run(self, url: str, target: Target, seconds: float, pid: int) -> Measurement:
        command = pinned(
            self.cpu,
            [
                str(self.binary),
                "-t1",
                f"-c{self.connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                str(self.script(target.query, target.variables)),
                url,
            ],
        )
        cpu_before = cpu_seconds(pid)
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        cpu = cpu_seconds(pid) - cpu_before
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH-RESULT ")), None)
        if done.returncode or line is None:
            fail(f"wrk failed:\n{done.stdout}\n{done.stderr}")
        result = json.loads(line.removeprefix("BENCH-RESULT "))
        if result["errors"] or not result["requests"]:
            fail(f"wrk saw errors against {url}:\n{done.stdout}")
        return Measurement(
            requests=result["requests"],
            seconds=result["duration_us"] / 1e6,
            p50_ms=result["p50_us"] / 1000,
            p99_ms=result["p99_us"] / 1000,
            mean_ms=result["mean_us"] / 1000,
            cpu_ms=cpu / result["requests"] * 1000,
        )


def answer(url: str, target: Target, token: str) -> Any:
    return data_of(httpx.post(url, **request(target.query, target.variables, token), timeout=30))


@dataclass
class Round:
    bare: dict[str, Measurement]
    graphql: dict[str, Measurement]


class Bench:
    def __init__(self, args: argparse.Namespace, scratch: Path):
        self.args = args
        self.scratch = scratch
        self.server_cpu: int | None = None if args.no_pin else 0
        self.env = kai_env(
            scratch,
            KAI_ENV="development",
            KAI_ACCESS_TOKEN_TTL_SECONDS=str(6 * 3600),
            KAI_QDRANT_URL=":memory:",
            # Housekeeping that would run during the measurement and that the baseline
            # does not have: delayed tasks, due schedules and webhook deliveries are looked
            # for hourly instead of every second.
            KAI_TASK_SWEEP_SECONDS="3600",
            KAI_SCHEDULE_TICK_SECONDS="3600",
            KAI_WEBHOOK_POLL_SECONDS="3600",
            # Far above the load: nothing is ever refused (the limiter still runs).
            **{
                f"KAI_RATE_LIMIT_{family}_PER_MINUTE": HUGE_BUDGET
                for family in ("QUERY", "MUTATION", "UPLOAD", "SUBSCRIBE", "AGENT", "ANONYMOUS")
            },
            KAI_RATE_LIMIT_AUTH_PER_IP=HUGE_BUDGET,
            KAI_RATE_LIMIT_AUTH_PER_ACCOUNT=HUGE_BUDGET,
            # One user owns every agent: the per-user quota (100 by default) must not stop it.
            KAI_QUOTA_AGENTS_PER_USER=HUGE_BUDGET,
        )
        self.token = ""
        self.expected: dict[str, Any] = {}

    def kai(self, port: int) -> list[str]:
        return pinned(self.server_cpu, kai("serve", "--port", str(port)))

    def bare(self, port: int) -> list[str]:
        command = [sys.executable, "-m", "bench._baseline_app", "--port", str(port)]
        return pinned(self.server_cpu, command)

    def prepare(self) -> None:
        progress(f"kai serve: {self.args.agents} agents seeded")
        port = free_port()
        with serving(self.kai(port), self.env, port, self.scratch / "seed.log"):

            async def seeding() -> None:
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}", timeout=60
                ) as http:
                    seeded = await seed(http, self.args.agents)
                self.token = seeded.token

            asyncio.run(seeding())

    def measure(self, which: str, wrk: Wrk) -> dict[str, Measurement]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = self.kai(port) if which == "graphql" else self.bare(port)
        progress(f"{which}: started, then wrk")
        results = {}
        with serving(command, self.env, port, self.scratch / f"{which}.log") as process:
            for target in targets(self.args.agents):
                url = base + ("/graphql" if which == "graphql" else target.bare_path)
                got = answer(url, target, self.token)
                expected = self.expected.setdefault(target.name, got)
                if got != expected:
                    fail(
                        f"{which} answered {target.name} differently:\n"
                        f"{json.dumps(got)[:2000]}\nvs\n{json.dumps(expected)[:2000]}"
                    )
                if self.args.warmup > 0:
                    wrk.run(url, target, self.args.warmup, process.pid)
                results[target.name] = wrk.run(url, target, self.args.duration, process.pid)
                if answer(url, target, self.token) != expected:
                    fail(f"{which} changed its {target.name} answer under load")
        return results

    def run(self) -> list[Round]:
        self.prepare()
        wrk = Wrk(
            self.scratch,
            self.token,
            connections=self.args.connections,
            cpu=None if self.args.no_pin else 1,
        )
        rounds = []
        for number in range(self.args.rounds):
            bare = self.measure("bare", wrk)
            graphql = self.measure("graphql", wrk)
            rounds.append(Round(bare, graphql))
            print(
                f"  round {number + 1}/{self.args.rounds}: "
                + ", ".join(
                    f"{t.name} {graphql[t.name].rps:.0f} vs {bare[t.name].rps:.0f} rps"
                    for t in targets(self.args.agents)
                ),
                flush=True,
            )
        listed = len(nodes(self.expected["agents"]["agents"]))
        if listed != self.args.agents:
            fail(f"the one page held {listed} agents, not all {self.args.agents}")
        return rounds


def median(values: list[float]) -> float:
    return statistics.median(values)


TABLE = Table(
    Column("query ", "s", "<"),
    Column("server ", "s", "<"),
    Column("   rps", ".0f"),
    Column("p50 ms", ".2f"),
    Column("p99 ms", ".2f"),
    Column("CPU ms/req", ".2f"),
    Column("rps ratio", ".2f"),
    Column("p50 x", ".1f"),
    Column("p99 x", ".1f"),
    Column("CPU x", ".1f"),
    Column("target", "s", "<"),
)


def report(args: argparse.Namespace, rounds: list[Round]) -> bool:
    pins = "CPU 0, wrk to CPU 1" if not args.no_pin else "nothing (--no-pin)"
    print(f"{machine()}; servers pinned to {pins}")
    print(
        f"wrk -t1 -c{args.connections}, {args.duration:g} s per query and server after "
        f"{args.warmup:g} s of warm-up; medians of {len(rounds)} round(s); "
        f"{args.agents} echo agents, SQLite"
    )
    TABLE.header()
    met = True
    for target in targets(args.agents):
        bare = [r.bare[target.name] for r in rounds]
        graphql = [r.graphql[target.name] for r in rounds]
        for label, ms in (("bare", bare), ("GraphQL", graphql)):
            figures = [
                target.name,
                label,
                median([m.rps for m in ms]),
                median([m.p50_ms for m in ms]),
                median([m.p99_ms for m in ms]),
                median([m.cpu_ms for m in ms]),
            ]
            if label == "bare":
                print(TABLE.indent + TABLE.cells(*figures) + " |")
                continue
            pairs = list(zip(graphql, bare, strict=True))
            ratio = median([g.rps / b.rps for g, b in pairs])
            ok = ratio >= target.goal
            met = met and ok
            TABLE.row(
                *figures,
                ratio,
                median([g.p50_ms / b.p50_ms for g, b in pairs]),
                median([g.p99_ms / b.p99_ms for g, b in pairs]),
                median([g.cpu_ms / b.cpu_ms for g, b in pairs]),
                f">= {target.goal:g}: {'met' if ok else 'MISSED'}",
            )
    print(
        "  (ratio: GraphQL rps / bare rps; p50 x, p99 x, CPU x: GraphQL / bare; "
        "each paired within a round, then the median)"
    )
    return met


def main(doc: str | None = None) -> None:
    options = parser(doc or (__doc__ or "").split("\n")[0], "bench/http.py")
    options.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    options.add_argument(
        "--warmup", type=float, default=2, help="seconds of warm-up before each (0: none)"
    )
    options.add_argument("--rounds", type=int, default=3, help="bare then GraphQL, this many times")
    options.add_argument("--connections", type=int, default=8, help="wrk's open connections")
    options.add_argument(
        "--agents",
        type=int,
        default=100,
        help=f"agents in the nested list, all in one page (at most {MAX_PAGE})",
    )
    options.add_argument(
        "--no-pin", action="store_true", help="do not pin the server and wrk to CPUs 0 and 1"
    )
    options.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    args = parse(options, QUICK)
    if args.rounds < 1 or args.duration < 1 or args.connections < 1 or args.agents < 1:
        options.error("--rounds, --duration, --connections and --agents must be at least 1")
    if args.agents > MAX_PAGE:
        options.error(f"--agents: one page of `agents` holds at most {MAX_PAGE}")
    require_proc()
    if (os.cpu_count() or 1) < 2:
        args.no_pin = True
    exit_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="kai-bench-http-") as scratch:
        rounds = Bench(args, Path(scratch)).run()
    met = report(args, rounds)
    if args.strict and not met:
        sys.exit(1)
