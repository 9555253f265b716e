"""Live-event fan-out: one agent event to thousands of `agentEvents` subscribers.

For each size N (1,000 and 5,000 by default) it starts a fresh `kai serve` (one
process, SQLite in a temp directory, embedded defaults, rate limits off), opens N
graphql-transport-ws connections, each its own socket, `connection_init` with one
user's bearer token and subscribed to `agentEvents` of one `echo` agent, spread over
client processes of their own; then measures:

- delivery: one `sendCommand` to the agent makes exactly one event (COMMAND_RESULT);
  from just before the mutation is sent until each subscriber has the message:
  p50, p99 and max over the subscribers, per event;
- memory: the server's RSS (VmRSS) before the N connect and once all are subscribed
  and idle, divided by N (and again after the events: permessage-deflate's
  compressor only touches its memory once it has compressed something);
- the same N sockets on a bare Starlette broadcast under the same uvicorn
  (bench/_fanout_bare.py), fanning out the very bytes kAI sent, in the same run:
  the floor of the ASGI stack kAI runs on, so the ratio is kAI's own cost; and
  the delivery of the same event to a single subscriber of the same server.

Then, on another fresh server, slow subscribers: a few sockets that subscribe and
never read again (a 4 KiB receive buffer), beside one that reads everything, while
thousands of large events are published: the server's RSS as they go, what the
server does with those sockets, and what one of them finds once it reads again.

The clients run on the same machine (their own latency is in the figures, and in
the baseline's alike).

    uv run python bench/fanout.py [--subscribers 1000,5000] [--events 5] ...
    uv run python bench/fanout.py --quick   # 20 subscribers, 2 events: what CI runs

The parts: bench/_fanout_clients.py (the client processes), bench/_fanout_runs.py (the
servers and one size's measurement), bench/_fanout_slow.py (the slow subscribers).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/fanout.py`, bench/ would be first on sys.path: the checkout instead
# (bench/http.py is named like the standard library's `http`; the benches import `bench.*`).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import tempfile

from bench._fanout_clients import Clients
from bench._fanout_runs import Run, bare_size, kai_size
from bench._fanout_slow import SlowRun, print_slow, slow_growth, slow_subscribers
from bench._support import (
    KIB,
    Column,
    Table,
    exit_on_sigterm,
    finish,
    machine,
    parse,
    parser,
    progress,
    raise_open_files,
    require_proc,
)

TARGET_SUBSCRIBERS = 5000
TARGET_P99_MS = 500.0
TARGET_KIB_PER_CONNECTION = 50.0
QUICK = {
    "subscribers": "20",
    "events": 2,
    "gap": 0.2,
    "settle": 0.5,
    "idle_seconds": 0.5,
    "slow": 2,
    "slow_events": 200,
    "slow_hold": 1,
    "judge_at": 20,
    # The hub cuts a stuck subscriber off after this many messages: with 200 events, it does.
    "env": ["KAI_SUBSCRIBER_BUFFER=16"],
}


# -- the report ------------------------------------------------------------------------------


def print_run(run: Run) -> None:
    print(
        f"  {run.name}: connected in {run.connect_seconds:.1f} s, {run.subscribed} "
        f"subscriptions running, {run.live} live after {run.warmups} warm-up events "
        f"({run.live_seconds:.1f} s); server RSS "
        f"{run.rss_before_kib / KIB:.0f} -> {run.rss_idle_kib / KIB:.0f} MiB idle "
        f"({run.kib_per_connection_idle:.1f} KiB/connection), "
        f"{run.rss_after_kib / KIB:.0f} MiB after the events "
        f"({run.kib_per_connection_after:.1f} KiB/connection); server CPU while idle "
        f"after that: {100 * run.idle_cpu:.0f}% of a core"
    )
    for error in sorted(set(run.warmup_errors))[:2]:
        print(f"    a warm-up event failed: {error}")
    for number, d in enumerate(run.deliveries, 1):
        if d.error:
            print(
                f"    event {number}: the mutation failed after {d.mutation_ms:.0f} ms: {d.error}"
            )
            continue
        print(
            f"    event {number}: p50 {d.p(50):7.1f} ms  p99 {d.p(99):7.1f} ms  "
            f"max {max(d.latencies, default=float('nan')):7.1f} ms  "
            f"({len(d.latencies)}/{d.expected} got it; mutation answered at "
            f"{d.mutation_ms:.1f} ms)"
        )
    unexpected = [c for c in run.closes if not c.startswith("closed 1000")]
    if unexpected:
        print(f"    client notes: {unexpected[:5]} ({len(unexpected)} in all)")
    if run.retries:
        print(
            f"    {len(run.retries)} connection attempts failed and were tried again, e.g. "
            f"{sorted(set(run.retries))[:3]}"
        )
    for line in run.server_log:
        print(f"    server log: {line}")


def header(args: argparse.Namespace) -> None:
    print(f"{machine()}; server and {args.clients} client processes on the same machine, loopback")
    print(
        f"agentEvents fan-out: one sendCommand -> one COMMAND_RESULT event, from just before "
        f"the mutation is sent until each subscriber has it; {args.events} events per size, "
        f"{args.gap:g} s apart; clients {'without' if args.no_deflate else 'offering'} "
        "permessage-deflate (as browsers do); fresh `kai serve` (SQLite) per size"
    )
    if args.extra_env:
        print(f"kAI settings beyond the bench's (--env): {args.extra_env}")
    print(
        "baselines, same run: the same event to 1 subscriber of the same server; and the same "
        "N sockets, same client processes, on a bare Starlette broadcast under the same uvicorn "
        "(bench/_fanout_bare.py) sending kAI's own message bytes: the ASGI stack's floor, so "
        "kai / bare is kAI's own cost"
    )
    sys.stdout.flush()


TABLE = Table(
    Column("     N", "d"),
    Column("kAI p50 ms", ".1f"),
    Column("p99 ms", ".1f"),
    Column("max ms", ".1f"),
    Column("bare p50", ".1f"),
    Column("bare p99", ".1f"),
    Column("p50 ratio", ".1f"),
    Column("p99 ratio", ".1f"),
    Column("1-sub p50", ".1f"),
    Column("KiB/conn idle", ".1f"),
    Column("after events", ".1f"),
    Column("bare KiB/conn", ".1f"),
    Column("missed", "d"),
)


def report(
    runs: list[tuple[Run, Run, Run]],
    slow: SlowRun | None,
    args: argparse.Namespace,
) -> None:
    print()
    TABLE.header()
    for run, single, bare in runs:
        TABLE.row(
            run.subscribers,
            run.p(50),
            run.p(99),
            max(run.pooled, default=float("nan")),
            bare.p(50),
            bare.p(99),
            run.p(50) / bare.p(50),
            run.p(99) / bare.p(99),
            single.p(50),
            run.kib_per_connection_idle,
            run.kib_per_connection_after,
            bare.kib_per_connection_idle,
            run.missing,
        )
    print("  (percentiles pooled over the events; per-event figures above)")
    if slow is not None:
        print_slow(slow)
    print_targets(runs, slow, args.judge_at)


def problems(runs: list[tuple[Run, Run, Run]], slow: SlowRun | None) -> list[str]:
    """What must not happen at any size: an event lost, a socket closed on its subscriber,
    the reading subscriber missing events, a stuck subscriber not cut off."""
    found = []
    for run in (r for triple in runs for r in triple):
        if run.missing:
            found.append(f"{run.name}: {run.missing} deliveries missing")
        unexpected = [c for c in run.closes if not c.startswith("closed 1000")]
        if unexpected:
            found.append(f"{run.name}: {len(unexpected)} sockets closed: {unexpected[:3]}")
    if slow is not None:
        if slow.healthy_got != slow.events or not slow.healthy_in_order:
            found.append(
                f"slow subscribers: the reading one got {slow.healthy_got}/{slow.events} "
                f"events{'' if slow.healthy_in_order else ', not all in order'}"
            )
        if slow.resumed[1] != 4413:
            found.append(f"slow subscribers: the slow reader was not cut off: {slow.resumed}")
    return found


def print_targets(
    runs: list[tuple[Run, Run, Run]], slow: SlowRun | None, judge_at: int = TARGET_SUBSCRIBERS
) -> None:
    print()
    at_target = [r for r, _, _ in runs if r.subscribers >= judge_at]
    if not at_target:
        print(f"targets: judged at {judge_at} subscribers; not run this time")
        return
    run = at_target[0]
    held = run.missing == 0 and not [c for c in run.closes if not c.startswith("closed 1000")]
    p99 = run.p(99)
    kib = run.kib_per_connection_after
    worst = max((d.p(99) for d in run.deliveries if d.latencies), default=float("nan"))
    print(f"targets at {run.subscribers} subscribers:")
    print(
        f"  held, every event to every subscriber: {'MET' if held else 'MISSED'} "
        f"({run.missing} deliveries missing; {len(run.retries)} connection attempts had to be "
        "made again)"
    )
    print(
        f"  p99 delivery under {TARGET_P99_MS:.0f} ms: "
        f"{'MET' if p99 < TARGET_P99_MS else 'MISSED'} "
        f"({p99:.0f} ms; worst event's p99 {worst:.0f} ms)"
    )
    print(
        f"  server memory under {TARGET_KIB_PER_CONNECTION:.0f} KiB a connection: "
        f"{'MET' if kib < TARGET_KIB_PER_CONNECTION else 'MISSED'} ({kib:.1f} KiB after the "
        f"events, {run.kib_per_connection_idle:.1f} KiB idle before them)"
    )
    if slow is not None:
        growth = slow_growth(slow)
        print(
            f"  slow subscribers leave memory bounded: {'MET' if growth < 32 else 'MISSED'} "
            f"({growth:.1f} MiB over the second half of {slow.events} events)"
        )


# -- main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    options = parser(__doc__, "bench/fanout.py")
    options.add_argument(
        "--subscribers", default="1000,5000", help="comma-separated sizes (default 1000,5000)"
    )
    options.add_argument("--events", type=int, default=5, help="events measured per size (5)")
    options.add_argument("--gap", type=float, default=1.0, help="seconds between events (1)")
    options.add_argument("--clients", type=int, default=2, help="client processes (2)")
    options.add_argument(
        "--connect", type=int, default=100, help="handshakes in flight at once, in all (100)"
    )
    options.add_argument(
        "--no-deflate", action="store_true", help="clients do not offer permessage-deflate"
    )
    options.add_argument("--settle", type=float, default=3.0, help="idle seconds before RSS (3)")
    options.add_argument(
        "--idle-seconds", type=float, default=10.0, help="idle CPU sampled this long (10)"
    )
    options.add_argument(
        "--event-timeout", type=float, default=60.0, help="longest wait for one event (60)"
    )
    options.add_argument(
        "--warmup-timeout",
        type=float,
        default=120.0,
        help="longest wait for every subscriber to be live (120)",
    )
    options.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KAI_X=VALUE",
        help="a setting for the kAI servers, beyond the bench's (repeatable), to diagnose",
    )
    options.add_argument("--no-baseline", action="store_true", help="skip the bare broadcast")
    options.add_argument("--slow", type=int, default=3, help="stuck subscribers (3; 0: skip)")
    options.add_argument(
        "--slow-events", type=int, default=3000, help="events published at them (3000)"
    )
    options.add_argument("--slow-kib", type=int, default=32, help="KiB of text per event (32)")
    options.add_argument(
        "--slow-hold", type=int, default=45, help="seconds the stuck sockets are watched after (45)"
    )
    options.add_argument(
        "--judge-at",
        type=int,
        default=TARGET_SUBSCRIBERS,
        help=f"the targets are judged at this many subscribers ({TARGET_SUBSCRIBERS})",
    )
    args = parse(options, QUICK)
    try:
        args.sizes = [int(n) for n in args.subscribers.split(",") if n.strip()]
    except ValueError:
        options.error("--subscribers takes comma-separated whole numbers")
    try:
        args.extra_env = dict(item.split("=", 1) for item in args.env)
    except ValueError:
        options.error("--env takes KAI_X=VALUE")
    if any(not key.startswith("KAI_") for key in args.extra_env):
        options.error("--env sets KAI_* settings only")
    if not args.sizes or min(args.sizes) < 1 or max(args.sizes) > 20000:
        options.error("--subscribers: sizes from 1 to 20000")
    if not 1 <= args.clients <= 16 or args.events < 1 or args.connect < 1:
        options.error("--clients 1..16, --events and --connect at least 1")
    if args.slow_hold < 1:
        options.error("--slow-hold: at least 1 second")
    return args


async def amain(args: argparse.Namespace, scratch: Path) -> list[str]:
    """Runs and reports; what went wrong."""
    header(args)
    clients = Clients(args.clients)
    try:
        runs = []
        for n in args.sizes:
            progress(f"{n} subscribers: kAI")
            run, single, sample = await kai_size(scratch, clients, n, args)
            if args.no_baseline:
                bare = Run(f"bare broadcast, {n} sockets (skipped)", n)
            else:
                progress(f"{n} subscribers: bare broadcast")
                bare = await bare_size(scratch, clients, n, sample, args)
            runs.append((run, single, bare))
            print(f"N = {n}:")
            print_run(single)
            print_run(run)
            print_run(bare)
            sys.stdout.flush()
    finally:
        await asyncio.to_thread(clients.stop)
    slow = None
    if args.slow:
        progress("slow subscribers")
        slow = await slow_subscribers(scratch, args)
    report(runs, slow, args)
    return problems(runs, slow)


def main() -> None:
    args = parse_args()
    require_proc()
    # Server: N sockets and its files; each client process: its share of the N.
    raise_open_files(max(args.sizes) + 1024)
    exit_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="kai-bench-fanout-") as scratch:
        found = asyncio.run(amain(args, Path(scratch)))
    finish(found)


if __name__ == "__main__":
    main()
