"""Every bench in bench/ runs in its `--quick` mode, so that none of them rots.

A quick run is the smallest that still goes through each code path of its bench (every
target, kAI and its baseline, each backend the bench uses) and prints its table. No
figure of it is asserted: they are meaningless at that size, and timings are not tests.
What is asserted is that the bench exits 0 (it exits 1 when a run fails or an answer is
wrong: kAI and the baseline answering differently, an event lost, statement counts that
change with the size) and that its table was printed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import postgres_url_or_skip
from tests.support.redis_server import redis_server_or_skip

ROOT = Path(__file__).parent.parent
BENCH = ROOT / "bench"
SCRIPTS = sorted(path.name for path in BENCH.glob("*.py") if not path.name.startswith("_"))
MAX_MODULE_LINES = 400
SECONDS = 300  # a quick run takes well under a minute; this is for a hung one

# What each bench needs beyond the checkout, and lines of its output that show every part
# of it ran (its table's header first).
QUICK = {
    "console_size.py": ((), ["index.html: ", "graphiql.html: "]),
    "fanout.py": (
        (),
        [
            "       N | kAI p50 ms | p99 ms | max ms | bare p50 | bare p99 |",
            "  kAI, 1 subscriber: ",
            "  bare broadcast, 20 sockets: ",
            "    events | RSS MiB | sockets open | subscriptions | events dropped",
            "targets at 20 subscribers:",
        ],
    ),
    "http.py": (
        ("wrk",),
        [
            "  query  | server  |    rps | p50 ms | p99 ms | CPU ms/req | rps ratio |",
            "  me     | bare    |",
            "  agents | GraphQL |",
        ],
    ),
    "queries.py": (
        ("postgresql",),
        [
            "  backend    | agents | pages | statements/request |",
            "  sqlite     |     12 |     3 |",
            "  postgresql |     12 |     3 |",
            "sqlite: constant",
            "postgresql: constant",
        ],
    ),
    "replay.py": (
        (),
        [
            "  server |   seconds |    events/s | server CPU µs/event | kAI / bare",
            "  kAI    |",
            "  bare   |",
            "target: kAI / bare <= 2: ",
        ],
    ),
    "tasks.py": (
        ("postgresql", "redis"),
        [
            "  workers | p50 ms | p99 ms | p50 / raw p50 | p50 / taskiq p50 | burst tasks/s |",
            "  2 worker(s): server ",
            "  bare taskiq: worker ",
            "targets, 1 worker: p50 ",
        ],
    ),
    "threads.py": (
        (),
        [
            "  side        | requests/s | p50 ms | / command",
            "  command     |",
            "  message     |",
            "  long thread |",
        ],
    ),
    "upload.py": ((), ["     size | kAI MiB/s | local MiB/s | ratio |", "memory: "]),
    "webhooks.py": ((), ["  side | deliveries/s | kAI / bare", "  kAI  |", "  bare |"]),
}


def test_every_bench_is_run_here() -> None:
    assert sorted(QUICK) == SCRIPTS


def test_no_bench_module_is_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in sorted(BENCH.glob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, "split these modules (the shared parts go to bench/_support.py): " + ", ".join(
        long
    )


def require(needs: tuple[str, ...]) -> None:
    """Skips without what the bench needs (fails under CI=true: CI must run every bench)."""
    if "postgresql" in needs:
        postgres_url_or_skip()
    if "redis" in needs:
        redis_server_or_skip()
    if "wrk" in needs and shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no wrk: CI must run bench/http.py (.ci/run installs it)")
        pytest.skip("no wrk (apt-get install wrk)")


def run_quick(script: str) -> subprocess.CompletedProcess[str]:
    """`python bench/<script> --quick` from the checkout, in a session of its own: on a
    timeout it gets SIGTERM (it stops its servers), then its whole group SIGKILL."""
    process = subprocess.Popen(
        [sys.executable, str(BENCH / script), "--quick"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=SECONDS)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            stdout, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        pytest.fail(f"{script} --quick took over {SECONDS} s:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_quick_run(script: str) -> None:
    needs, lines = QUICK[script]
    require(needs)
    done = run_quick(script)
    output = f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    assert done.returncode == 0, f"{script} --quick exited {done.returncode}\n{output}"
    missing = [line for line in lines if line not in done.stdout]
    assert not missing, f"{script} --quick did not print {missing}\n{output}"
