"""The implementation of bench/http.py (see there): a module of its own, so that bench/http.py
can stay a stand-in for the standard library's `http` when imported by mistake."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _seed import ME, NESTED_AGENTS, SECRET, data_of, nodes, seed

from kai.services.pagination import MAX_PAGE

ROOT = Path(__file__).resolve().parent.parent

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, its threads (aiosqlite's) included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pinned(cpu: int | None, command: list[str]) -> list[str]:
    taskset = shutil.which("taskset")
    if cpu is None or taskset is None:
        return command
    return [taskset, "-c", str(cpu), *command]


@contextmanager
def server(
    command: list[str], env: dict[str, str], port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process on `port`, up once /healthz answers; stopped (SIGTERM) at the end."""
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, running kai or the baseline)
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench: {command} did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()


@dataclass(frozen=True)
class Target:
    name: str
    query: str
    bare_path: str
    goal: float  # GraphQL rps / bare rps, at least
    variables: dict[str, Any] = field(default_factory=dict)


def targets(agents: int) -> tuple[Target, ...]:
    """The queries, the nested list asking for a page of all `agents` agents."""
    return (
        Target("me", ME, "/me", 0.5),
        Target("agents", NESTED_AGENTS, "/agents", 0.35, {"first": agents}),
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
            raise SystemExit(
                "bench: needs wrk, the HTTP load generator: `apt-get install -y wrk` "
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
            raise SystemExit(f"bench: wrk failed:\n{done.stdout}\n{done.stderr}")
        result = json.loads(line.removeprefix("BENCH-RESULT "))
        if result["errors"] or not result["requests"]:
            raise SystemExit(f"bench: wrk saw errors against {url}:\n{done.stdout}")
        return Measurement(
            requests=result["requests"],
            seconds=result["duration_us"] / 1e6,
            p50_ms=result["p50_us"] / 1000,
            p99_ms=result["p99_us"] / 1000,
            mean_ms=result["mean_us"] / 1000,
            cpu_ms=cpu / result["requests"] * 1000,
        )


def answer(url: str, target: Target, token: str) -> Any:
    response = httpx.post(
        url,
        json={"query": target.query, "variables": target.variables},
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    return data_of(response)


@dataclass
class Round:
    bare: dict[str, Measurement]
    graphql: dict[str, Measurement]


class Bench:
    def __init__(self, args: argparse.Namespace, scratch: Path):
        self.args = args
        self.scratch = scratch
        self.server_cpu: int | None = None if args.no_pin else 0
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KAI_")} | {
            "KAI_ENV": "development",
            "KAI_DATA_DIR": str(scratch / "data"),
            "KAI_DATABASE_URL": f"sqlite+aiosqlite:///{scratch / 'kai.db'}",
            "KAI_JWT_SECRET": SECRET,
            "KAI_ACCESS_TOKEN_TTL_SECONDS": str(6 * 3600),
            "KAI_QDRANT_URL": ":memory:",
            "KAI_LOG_LEVEL": "WARNING",
            # Housekeeping that would run during the measurement and that the baseline
            # does not have: delayed tasks are looked for hourly instead of every second.
            "KAI_TASK_SWEEP_SECONDS": "3600",
            # Far above the load: nothing is ever refused (the limiter still runs).
            **{
                f"KAI_RATE_LIMIT_{family}_PER_MINUTE": HUGE_BUDGET
                for family in ("QUERY", "MUTATION", "UPLOAD", "SUBSCRIBE", "AGENT", "ANONYMOUS")
            },
            "KAI_RATE_LIMIT_AUTH_PER_IP": HUGE_BUDGET,
            "KAI_RATE_LIMIT_AUTH_PER_ACCOUNT": HUGE_BUDGET,
            # One user owns every agent: the per-user quota (100 by default) must not stop it.
            "KAI_QUOTA_AGENTS_PER_USER": HUGE_BUDGET,
        }
        self.token = ""
        self.expected: dict[str, Any] = {}

    def kai(self, port: int) -> list[str]:
        command = [sys.executable, "-m", "kai.cli", "serve", "--port", str(port)]
        return pinned(self.server_cpu, command)

    def bare(self, port: int) -> list[str]:
        command = [sys.executable, "-m", "bench._baseline_app", "--port", str(port)]
        return pinned(self.server_cpu, command)

    def prepare(self) -> None:
        port = free_port()
        with server(self.kai(port), self.env, port, self.scratch / "seed.log"):

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
        results = {}
        with server(command, self.env, port, self.scratch / f"{which}.log") as process:
            for target in targets(self.args.agents):
                url = base + ("/graphql" if which == "graphql" else target.bare_path)
                got = answer(url, target, self.token)
                expected = self.expected.setdefault(target.name, got)
                if got != expected:
                    raise SystemExit(
                        f"bench: {which} answered {target.name} differently:\n"
                        f"{json.dumps(got)[:2000]}\nvs\n{json.dumps(expected)[:2000]}"
                    )
                wrk.run(url, target, self.args.warmup, process.pid)
                results[target.name] = wrk.run(url, target, self.args.duration, process.pid)
                if answer(url, target, self.token) != expected:
                    raise SystemExit(f"bench: {which} changed its {target.name} answer under load")
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
        # The one page held the whole list.
        assert len(nodes(self.expected["agents"]["agents"])) == self.args.agents
        return rounds


def median(values: list[float]) -> float:
    return statistics.median(values)


def report(args: argparse.Namespace, rounds: list[Round]) -> bool:
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; servers pinned to "
        f"{'CPU 0, wrk to CPU 1' if not args.no_pin else 'nothing (--no-pin)'}"
    )
    print(
        f"wrk -t1 -c{args.connections}, {args.duration:g} s per query and server after "
        f"{args.warmup:g} s of warm-up; medians of {len(rounds)} round(s); "
        f"{args.agents} echo agents, SQLite"
    )
    print(
        "  query  | server  |    rps | p50 ms | p99 ms | CPU ms/req | rps ratio | "
        "p50 x | p99 x | CPU x | target"
    )
    met = True
    for target in targets(args.agents):
        bare = [r.bare[target.name] for r in rounds]
        graphql = [r.graphql[target.name] for r in rounds]
        for label, ms in (("bare", bare), ("GraphQL", graphql)):
            print(
                f"  {target.name:6s} | {label:7s} | {median([m.rps for m in ms]):6.0f} | "
                f"{median([m.p50_ms for m in ms]):6.2f} | {median([m.p99_ms for m in ms]):6.2f} | "
                f"{median([m.cpu_ms for m in ms]):10.2f} |",
                end="",
            )
            if label == "bare":
                print()
                continue
            ratio = median([g.rps / b.rps for g, b in zip(graphql, bare, strict=True)])
            p50 = median([g.p50_ms / b.p50_ms for g, b in zip(graphql, bare, strict=True)])
            p99 = median([g.p99_ms / b.p99_ms for g, b in zip(graphql, bare, strict=True)])
            cpu = median([g.cpu_ms / b.cpu_ms for g, b in zip(graphql, bare, strict=True)])
            ok = ratio >= target.goal
            met = met and ok
            print(
                f" {ratio:9.2f} | {p50:5.1f} | {p99:5.1f} | {cpu:5.1f} | "
                f">= {target.goal:g}: {'met' if ok else 'MISSED'}"
            )
    print(
        "  (ratio: GraphQL rps / bare rps; p50 x, p99 x, CPU x: GraphQL / bare; "
        "each paired within a round, then the median)"
    )
    return met


def main(doc: str | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="bench/http.py",
        description=doc or (__doc__ or "").split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up before each")
    parser.add_argument("--rounds", type=int, default=3, help="bare then GraphQL, this many times")
    parser.add_argument("--connections", type=int, default=8, help="wrk's open connections")
    parser.add_argument(
        "--agents",
        type=int,
        default=100,
        help=f"agents in the nested list, all in one page (at most {MAX_PAGE})",
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin the server and wrk to CPUs 0 and 1"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    args = parser.parse_args()
    if args.rounds < 1 or args.duration < 1 or args.connections < 1 or args.agents < 1:
        parser.error("--rounds, --duration, --connections and --agents must be at least 1")
    if args.agents > MAX_PAGE:
        parser.error(f"--agents: one page of `agents` holds at most {MAX_PAGE}")
    if not Path("/proc/self/stat").exists():
        raise SystemExit("bench: reads the servers' CPU time from /proc (Linux only)")
    if (os.cpu_count() or 1) < 2:
        args.no_pin = True
    # A SIGTERM unwinds like Ctrl-C: servers stopped, the temp directory removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="kai-bench-http-") as scratch:
        rounds = Bench(args, Path(scratch)).run()
    met = report(args, rounds)
    if args.strict and not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
