"""`kai schedules` (kai_sdk.cli.schedules), run as real processes against a real
`kai serve`, whose schedules tick every second: create (a cron timetable, one time),
list and show, pause and resume, run now, update, delete; a refused cron, and --json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
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
# Once a year: nothing runs by itself while a test looks.
YEARLY = "0 3 1 1 *"


@dataclass
class Person:
    """Someone at a shell: their own home (and config folder) and the server's URL."""

    home: Path
    url: str

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAI_", "XDG_"))}
        env |= {"HOME": str(self.home), "XDG_CONFIG_HOME": str(self.home / ".config")}
        return env | {"KAI_URL": self.url, "COLUMNS": "200"}

    def kai(
        self, *args: str, code: int = 0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Runs `kai ARGS`; its exit code must be `code`, and a failure is one line."""
        done = subprocess.run(
            [*COMMAND, *args],
            env=self.env(),
            cwd=self.home,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
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
    """The ADMIN of a fresh `kai serve`, signed in with `kai login`, with an echo agent."""
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
        ada.kai("login", "--email", ADMIN[0], stdin=ADMIN[1] + "\n")
        ada.kai("agents", "create", "clock", "--type", "echo")
        yield ada


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def eventually(check: Any, timeout: float = 30.0) -> Any:
    """What `check()` answers once it is truthy, within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.25)


def test_a_cron_schedule_created_listed_and_shown(ada: Person) -> None:
    made = ada.json(
        *split(f"schedules create --agent clock --name nightly --cron '{YEARLY}'"),
        *split("--timezone Europe/Berlin --task-type echo --payload '{\"n\": 1}'"),
        *split("--priority 5 --retries 2 --timeout 30"),
    )
    assert (made["name"], made["cron"], made["timezone"]) == ("nightly", YEARLY, "Europe/Berlin")
    assert made["active"] is True and made["runAt"] is None and made["nextRunAt"]
    assert made["agent"]["name"] == "clock"
    assert made["task"] == {
        "type": "echo",
        "payload": {"n": 1},
        "priority": 5,
        "retries": 2,
        "timeoutSeconds": 30,
    }
    create = split("schedules create --agent clock --task-type echo")
    said = ada.kai(*create, "--name", "other", "--cron", YEARLY).stdout
    assert said.startswith("schedule other (sch_") and " created: next run in " in said

    listed = ada.json("schedules", "list", "--agent", "clock")
    assert [s["name"] for s in listed][:2] == ["other", "nightly"]  # newest first
    first = ada.kai("schedules", "list", "--limit", "1", "--json")
    assert [s["name"] for s in json.loads(first.stdout)] == ["other"]
    assert "1 of " in first.stderr and "--after " in first.stderr
    table = ada.kai("schedules", "list").stdout.splitlines()
    assert table[0].split() == [
        *("ID", "NAME", "AGENT", "WHEN", "TASK", "STATE"),
        *("NEXT", "RUN", "LAST", "RUN", "CREATED"),
    ]
    row = next(line for line in table if made["id"] in line)
    assert f"nightly  clock  {YEARLY} Europe/Berlin  echo  active  in " in row

    # By name or by id.
    shown = ada.kai("schedules", "show", "nightly").stdout
    assert f"id:       {made['id']}" in shown and f"cron:     {YEARLY}" in shown
    assert "timezone: Europe/Berlin" in shown and 'payload:  {"n":1}' in shown
    assert "timeout:  30 s" in shown and shown.endswith("\nno tasks yet\n")
    as_json = ada.json("schedules", "show", made["id"])
    assert as_json["id"] == made["id"] and as_json["tasks"]["totalCount"] == 0


def test_a_one_off_schedule_runs_once_at_its_time(ada: Person) -> None:
    made = ada.json(
        *split("schedules create --agent clock --name once --at 2020-01-01T09:00:00+02:00"),
        *split("--task-type echo --payload '{\"once\": true}'"),
    )
    assert made["cron"] is None and at(made["runAt"]) == datetime(2020, 1, 1, 7, tzinfo=UTC)

    # A time past runs at once: at the server's next tick.
    def ran() -> Any:
        shown = ada.json("schedules", "show", "once")
        return shown if shown["tasks"]["edges"] and shown["nextRunAt"] is None else None

    shown = eventually(ran)
    (edge,) = shown["tasks"]["edges"]
    assert edge["node"]["type"] == "echo" and edge["node"]["payload"] == {"once": True}
    assert at(shown["runAt"]) == at(shown["lastRunAt"]) == at(made["runAt"])
    started = ada.json("tasks", "list", "--schedule", "once")
    assert [t["id"] for t in started] == [edge["node"]["id"]]
    text = ada.kai("schedules", "show", made["id"], "--iso").stdout
    assert "runs at:  2020-01-01T07:00:00Z" in text and "state:    done" in text
    assert "\ntasks (1 of 1, newest first):\nID " in text and edge["node"]["id"] in text
    row = next(line for line in ada.kai("schedules", "list").stdout.splitlines() if "once" in line)
    assert "once, 2020-01-01" in row and "  done  " in row


def test_pause_resume_run_update_and_delete(ada: Person) -> None:
    made = ada.json(
        *split(f"schedules create --agent clock --name weekly --cron '{YEARLY}' --paused"),
        *split('--task-type echo --payload \'{"steps": 2, "stepSeconds": 0.05}\''),
    )
    assert made["active"] is False and made["nextRunAt"] is None
    said = ada.kai("schedules", "resume", "weekly").stdout
    assert said.startswith(f"schedule weekly ({made['id']}) resumed: next run in ")
    assert ada.kai("schedules", "pause", made["id"]).stdout == (
        f"schedule weekly ({made['id']}) paused\n"
    )
    assert ada.json("schedules", "pause", "weekly")["active"] is False  # paused already: fine

    # Now, outside its timetable (paused or not).
    task = ada.json("schedules", "run", "weekly")
    assert task["type"] == "echo" and task["state"] in {"PENDING", "RUNNING", "COMPLETED"}
    watched = ada.kai("schedules", "run", "weekly", "--watch").stdout.splitlines()
    assert watched[-2].split()[2:] == ["COMPLETED", "100%"]
    assert watched[-1] == 'result: {"steps":2,"stepSeconds":0.05}'
    assert len(ada.json("tasks", "list", "--schedule", made["id"])) == 2

    # A task option changes that part of the template; the rest stays.
    changed = ada.json("schedules", "update", "weekly", "--priority", "9", "--active")
    assert changed["task"] == {
        "type": "echo",
        "payload": {"steps": 2, "stepSeconds": 0.05},
        "priority": 9,
        "retries": 0,
        "timeoutSeconds": None,
    }
    assert changed["active"] is True and changed["nextRunAt"] is not None
    once = ada.json("schedules", "update", "weekly", "--at", "2099-01-01T00:00:00Z")
    assert once["cron"] is None and at(once["nextRunAt"]) == datetime(2099, 1, 1, tzinfo=UTC)
    renamed = ada.kai(
        *split("schedules update weekly --name monthly --cron '0 0 1 * *' --timezone Asia/Tokyo")
    ).stdout
    assert renamed.startswith(f"schedule monthly ({made['id']}) updated: next run in ")
    shown = ada.json("schedules", "show", "monthly")
    assert (shown["cron"], shown["timezone"], shown["runAt"]) == ("0 0 1 * *", "Asia/Tokyo", None)
    done = ada.kai("schedules", "update", "monthly", code=2)
    assert done.stderr.startswith("kai: nothing to change: ")

    assert ada.kai("schedules", "delete", "monthly").stdout == f"schedule {made['id']} deleted\n"
    done = ada.kai("schedules", "show", made["id"], code=5)
    assert done.stderr.startswith("kai: NOT_FOUND: ")
    done = ada.kai("schedules", "run", "monthly", code=5)
    assert done.stderr == "kai: NOT_FOUND: no schedule 'monthly'\n"
    # Its tasks keep going.
    assert len(ada.json("tasks", "list", "--agent", "clock", "--type", "echo", "--all")) >= 2


def test_what_the_server_refuses_is_one_line_and_exit_6(ada: Person) -> None:
    create = ("schedules", "create", "--agent", "clock", "--name", "bad", "--task-type", "echo")
    done = ada.kai(*create, "--cron", "* * * *", code=6)
    assert done.stderr == (
        "kai: BAD_USER_INPUT: A cron expression is five fields: minute hour day-of-month "
        "month day-of-week (e.g. `*/15 * * * *`) (input.cron)\n"
    )
    done = ada.kai(*create, "--cron", YEARLY, "--timezone", "Mars/Olympus", code=6)
    assert done.stderr.startswith("kai: BAD_USER_INPUT: 'Mars/Olympus' is not an IANA time zone")
    assert done.stderr.endswith("(input.timezone)\n")
    done = ada.kai(*create[:-1], "nope", "--cron", YEARLY, code=6)
    assert "(input.task.type)" in done.stderr
    made = ada.json(*create, "--cron", YEARLY)
    done = ada.kai("schedules", "update", made["id"], "--cron", "0 0 31 2 *", code=6)
    assert done.stderr.startswith("kai: BAD_USER_INPUT: This cron expression never runs")
    assert ada.json("schedules", "delete", made["id"]) == {"deleted": made["id"]}
    assert "bad" not in [s["name"] for s in ada.json("schedules", "list", "--all")]

    # Refused before any request: argparse's usage errors, exit 2.
    assert "not an ISO 8601 time" in ada.kai(*create, "--at", "tomorrow", code=2).stderr
    both = ada.kai(*create, "--cron", YEARLY, "--at", "2030-01-01", code=2)
    assert "not allowed with" in both.stderr
    assert "one of the arguments --cron --at" in ada.kai(*create, code=2).stderr
    ada.kai("schedules", "show", "sch_" + "0" * 32, code=5)
