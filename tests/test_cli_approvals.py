"""`kai approvals` (kai_sdk.cli.approvals), run as real processes against a real `kai serve`,
for an echo agent made with `kai agents create --approval-...` whose policy holds the command
`deploy` and the task type `echo`: `kai send` and `kai tasks enqueue` say what waits; list
(by state, kind, agent), show, approve (the task runs to its end), reject (the command never
runs); a second decision is CONFLICT (exit 6) and an unknown approval NOT_FOUND (exit 5), each
one line; `kai agents update` changes one part of the policy and keeps the rest; `kai
approvals watch` prints what waits, then what is asked while it runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from shlex import split
from typing import Any

import pytest

from kai_sdk.client import KaiClient
from tests.support.servers import clean_env, kai_serve

pytestmark = pytest.mark.slow

ADMIN = ("ada@example.com", "correct horse battery staple 1")
TIMEOUT = 60.0
KAI = shutil.which("kai", path=str(Path(sys.executable).parent))
COMMAND = [KAI] if KAI else [sys.executable, "-m", "kai.cli"]
UNKNOWN = "apr_" + "0" * 32
ECHO = ["--payload", '{"steps": 1, "stepSeconds": 0}']


@dataclass
class Person:
    """Someone at a shell: their own home (and config folder) and the server's URL."""

    home: Path
    url: str

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAI_", "XDG_"))}
        env |= {"HOME": str(self.home), "XDG_CONFIG_HOME": str(self.home / ".config")}
        return env | {"KAI_URL": self.url, "COLUMNS": "200"}

    def kai(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        """Runs `kai ARGS`; its exit code must be `code`, and a failure is one line."""
        done = subprocess.run(
            [*COMMAND, *args],
            env=self.env(),
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == code, f"kai {' '.join(args)}: {done.returncode}\n{done.stderr}"
        if code not in (0, 2):
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("kai: "), done.stderr
        assert "Traceback" not in done.stderr
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.kai(*args, "--json").stdout)


@pytest.fixture(scope="module")
def ada(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Person]:
    """The ADMIN of a fresh `kai serve`, signed in with `kai login`, with a running echo
    agent `gated` whose policy holds `deploy` and `echo`."""
    data = tmp_path_factory.mktemp("server")
    shutil.copy(sqlite_template, data / "kai.db")
    env = clean_env(
        KAI_DATA_DIR=str(data / "data"),
        KAI_DATABASE_URL=f"sqlite+aiosqlite:///{data / 'kai.db'}",
    )
    with kai_serve(env) as (url, _process):
        with KaiClient(url) as client:
            client.sign_up(*ADMIN)
        ada = Person(tmp_path_factory.mktemp("ada"), url)
        done = subprocess.run(
            [*COMMAND, "login", "--email", ADMIN[0]],
            env=ada.env(),
            input=ADMIN[1] + "\n",
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=True,
        )
        assert done.returncode == 0, done.stderr
        made = ada.json(
            *split("agents create gated --type echo --approval-commands deploy"),
            *split("--approval-task-types echo --approval-timeout 600"),
        )
        policy = {"commands": ["deploy"], "taskTypes": ["echo"], "timeoutSeconds": 600}
        assert made["approvalPolicy"] == policy, made
        eventually(lambda: ada.json("agents", "show", "gated")["state"] == "RUNNING")
        yield ada


def eventually(check: Any, timeout: float = 30.0) -> Any:
    """What `check()` answers once it is truthy, within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.25)


def held_command(ada: Person, key: str) -> str:
    """Sends `deploy` (held by the policy); the approval's id, as `kai send` says it."""
    sent = ada.kai(*split(f"send gated deploy --params '{{\"v\": 1}}' --idempotency-key {key}"))
    found = re.search(r"^deploy waits for approval (apr_[0-9a-f]{32}) \(expires in ", sent.stdout)
    assert found, sent.stdout
    assert f"kai approvals approve {found.group(1)}" in sent.stdout
    return found.group(1)


def test_listed_shown_approved_rejected_and_refused(ada: Person) -> None:
    shown = ada.kai("agents", "show", "gated").stdout
    assert "commands deploy; task types echo; open 600 s" in shown
    command = held_command(ada, "cli-1")
    queued = ada.json("tasks", "enqueue", "gated", "echo", *ECHO)
    assert queued["state"] == "AWAITING_APPROVAL" and queued["approval"]["state"] == "PENDING"
    task = queued["approval"]["id"]
    said = ada.kai("tasks", "enqueue", "gated", "echo", *ECHO).stdout
    assert re.fullmatch(
        r"task tsk_\w+ queued: AWAITING_APPROVAL \(kai approvals approve apr_\w+\)\n", said
    ), said

    # Listed, newest first: PENDING unless told otherwise; by kind and agent.
    table = ada.kai("approvals", "list").stdout.splitlines()
    assert table[0].split()[:5] == ["ID", "KIND", "AGENT", "WHAT", "STATE"], table[0]
    assert len(table) == 4 and table[3].startswith(command), table
    assert 'deploy {"v":1}' in table[3] and "PENDING" in table[3] and "in 9m" in table[3]
    assert 'echo {"steps":1,"stepSeconds":0}' in table[2]
    tasks = ada.json("approvals", "list", "--kind", "TASK", "--agent", "gated")
    assert [a["kind"] for a in tasks] == ["TASK", "TASK"] and tasks[1]["id"] == task
    assert ada.json("approvals", "list", "--kind", "ACTION") == []

    details = ada.kai("approvals", "show", command).stdout
    assert re.search(
        r"^subject: +\{\"command\":\"deploy\",\"params\":\{\"v\":1\}\}$", details, re.M
    )
    assert re.search(r"^asked by: +ada@example\.com \(usr_\w+\)$", details, re.M), details
    assert re.search(r"^state: +PENDING$", details, re.M), details

    # Approved: the task runs to its end. Rejected: the command never runs.
    approved = ada.kai("approvals", "approve", task, "--reason", "go ahead").stdout
    what = 'task echo {"steps":1,"stepSeconds":0} on gated'
    assert approved == f"approval {task} approved ({what}): go ahead\n"
    eventually(lambda: ada.json("tasks", "show", queued["id"])["state"] == "COMPLETED")
    rejected = ada.json("approvals", "reject", command, "--reason", "not today")
    assert (rejected["state"], rejected["reason"]) == ("REJECTED", "not today")
    assert rejected["decidedBy"]["email"] == "ada@example.com"
    again = ada.kai(
        *split("send gated deploy --params '{\"v\": 1}' --idempotency-key cli-1"), code=1
    )
    assert "Approval rejected: not today" in again.stderr

    # Decided once: a second decision is CONFLICT (6); what does not exist, NOT_FOUND (5).
    late = ada.kai("approvals", "approve", command, code=6)
    assert late.stderr == "kai: CONFLICT: The approval was already REJECTED\n"
    ada.kai("approvals", "approve", UNKNOWN, code=5)
    ada.kai("approvals", "show", UNKNOWN, code=5)
    states = [a["state"] for a in ada.json("approvals", "list", "--state", "all")]
    assert sorted(states) == ["APPROVED", "PENDING", "REJECTED"], states
    assert [a["id"] for a in ada.json("approvals", "list", "--state", "REJECTED")] == [command]
    ada.kai("approvals", "list", "--state", "DONE", code=2)

    # One part of the policy changed, the rest kept.
    ada.kai("agents", "update", "gated", "--approval-timeout", "30")
    policy = ada.json("agents", "show", "gated")["approvalPolicy"]
    assert policy == {"commands": ["deploy"], "taskTypes": ["echo"], "timeoutSeconds": 30}
    ada.kai("agents", "update", "gated", "--approval-timeout", "600", "--approval-commands", "")
    policy = ada.json("agents", "show", "gated")["approvalPolicy"]
    assert policy == {"commands": [], "taskTypes": ["echo"], "timeoutSeconds": 600}
    ada.kai("agents", "update", "gated", "--approval-commands", "deploy")


def _watch(ada: Person, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMMAND, "approvals", "watch", "--json", *args],
        env=ada.env(),
        cwd=ada.home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _following(watch: subprocess.Popen[str]) -> None:
    """Once the watch follows new approvals live (it says so on stderr)."""
    assert watch.stderr is not None
    assert watch.stderr.readline() == "following new approvals (Ctrl-C stops)\n"


def _line(watch: subprocess.Popen[str]) -> dict[str, Any]:
    assert watch.stdout is not None
    line = watch.stdout.readline()
    assert line, watch.stderr.read() if watch.stderr else "the watch ended"
    return dict(json.loads(line))


def test_watch_prints_what_waits_then_each_new_request(ada: Person) -> None:
    for approval in ada.json("approvals", "list", "--all"):
        ada.kai("approvals", "reject", approval["id"])
    waiting = held_command(ada, "watch-1")
    watch = _watch(ada, "--count", "3")
    new_only = _watch(ada, "--new-only", "--count", "1", "--kind", "TASK")
    try:
        _following(watch)
        _following(new_only)
        assert _line(watch)["id"] == waiting
        # Asked while both watch: each prints it as it comes.
        asked = held_command(ada, "watch-2")
        assert _line(watch)["id"] == asked
        queued = ada.json("tasks", "enqueue", "gated", "echo", *ECHO)
        seen = _line(watch)
        assert seen["id"] == queued["approval"]["id"] and seen["kind"] == "TASK"
        assert seen["subject"]["type"] == "echo" and seen["state"] == "PENDING"
        assert watch.wait(TIMEOUT) == 0
        only = _line(new_only)
        assert only["id"] == queued["approval"]["id"]
        assert new_only.wait(TIMEOUT) == 0
    finally:
        for process in (watch, new_only):
            if process.poll() is None:
                process.kill()
                process.wait()
