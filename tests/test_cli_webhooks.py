"""`kai webhooks` (kai_sdk.cli.webhooks), run as real processes against a real
`kai serve`, which in development may POST over http to loopback: a webhook to a real
endpoint on this machine that checks every signature (tests/support/webhook_receiver.py),
an echo agent's events delivered to it and shown with `kai webhooks show`; list, rotate,
test, redeliver, replay, a 410 that pauses a webhook, update, delete; refused input and
--json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLEnumType, build_schema

from kai_sdk.cli.parse_webhooks import EVENT_TYPES
from kai_sdk.cli.webhooks import SECRET_ONCE
from kai_sdk.client import KaiClient
from tests.support.servers import ROOT, clean_env, kai_serve
from tests.support.webhook_receiver import Receiver
from tests.support.webhook_thread import arrived, receiver_on_a_thread

pytestmark = pytest.mark.slow

ADMIN = ("ada@example.com", "correct horse battery staple 1")
TIMEOUT = 60.0
KAI = shutil.which("kai", path=str(Path(sys.executable).parent))
COMMAND = [KAI] if KAI else [sys.executable, "-m", "kai.cli"]
NOWHERE = "_" + "0" * 32


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
    """The ADMIN of a fresh `kai serve` (senders that look often, one retry after 0.1 s),
    signed in with `kai login`, with a running echo agent."""
    data = tmp_path_factory.mktemp("server")
    shutil.copy(sqlite_template, data / "kai.db")
    env = clean_env(
        KAI_DATA_DIR=str(data / "data"),
        KAI_DATABASE_URL=f"sqlite+aiosqlite:///{data / 'kai.db'}",
        KAI_WEBHOOK_POLL_SECONDS="0.05",
        KAI_WEBHOOK_RETRY_SECONDS="0.1",
    )
    with kai_serve(env) as (url, _process):
        with KaiClient(url) as client:
            client.sign_up(*ADMIN)
        ada = Person(tmp_path_factory.mktemp("ada"), url)
        ada.kai("login", "--email", ADMIN[0], stdin=ADMIN[1] + "\n")
        ada.kai("agents", "create", "hooked", "--type", "echo")
        yield ada


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with receiver_on_a_thread() as running:
        yield running


def created(ada: Person, receiver: Receiver, path: str, *options: str) -> tuple[str, str]:
    """A new webhook to `path` of the receiver, as `kai webhooks create` prints it for
    people: (its id, its secret)."""
    done = ada.kai("webhooks", "create", f"{receiver.url}{path}", *options)
    said, secret = done.stdout.splitlines()
    assert said.startswith("webhook whk_") and said.endswith(f": {receiver.url}{path}")
    assert done.stderr == SECRET_ONCE + "\n" and "will not be shown again" in done.stderr
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    return said.split()[1], secret


def command_results(ada: Person) -> list[int]:
    """The seqs of the echo agent's COMMAND_RESULT events."""
    lines = ada.kai("events", "hooked", "--json").stdout.splitlines()
    return [e["seq"] for e in map(json.loads, lines) if e["type"] == "COMMAND_RESULT"]


def test_events_are_delivered_and_shown_with_their_deliveries(
    ada: Person, receiver: Receiver
) -> None:
    everything = ada.json("webhooks", "create", f"{receiver.url}/all", "--description", "all of it")
    receiver.secrets.append(everything["secret"])
    assert everything["secret"].startswith("whsec_")
    assert everything["webhook"]["eventTypes"] == [] and everything["webhook"]["agents"] is None
    assert (everything["webhook"]["active"], everything["webhook"]["description"]) == (
        True,
        "all of it",
    )
    webhook_id, secret = created(
        ada, receiver, "/results", "--event-type", "COMMAND_RESULT", "--agent", "hooked"
    )

    ada.kai("send", "hooked", "ping")
    (got,) = arrived(lambda: receiver.at("/results"))
    assert got.body["type"] == "COMMAND_RESULT" and got.verified_by == [secret]
    assert got.body["data"]["data"]["command"] == "ping"
    arrived(lambda: receiver.at("/all"))

    shown = ada.kai("webhooks", "show", webhook_id).stdout
    agent = ada.json("agents", "show", "hooked")["id"]
    assert f"id:          {webhook_id}\n" in shown
    assert f"url:         {receiver.url}/results\n" in shown
    assert "events:      COMMAND_RESULT\n" in shown and f"agents:      hooked ({agent})\n" in shown
    assert "state:       active\n" in shown and "description: -\n" in shown
    table = shown.split("\ndeliveries (1 of 1, newest first):\n")[1].splitlines()
    assert table[0].split() == [
        *("ID", "SEQ", "TYPE", "AGENT", "STATE", "ATTEMPTS", "STATUS", "ERROR"),
        *("NEXT", "ATTEMPT", "CREATED"),
    ]
    assert table[1].split()[:8] == [
        *(got.webhook_id, str(got.seq), "COMMAND_RESULT", "hooked"),
        *("DELIVERED", "1", "200", "-"),
    ]
    as_json = ada.json("webhooks", "show", webhook_id)
    (edge,) = as_json["deliveries"]["edges"]
    assert edge["node"]["id"] == got.webhook_id and edge["node"]["deliveredAt"]
    assert ada.kai("webhooks", "show", webhook_id, "--failed").stdout.endswith(
        "\nno failed deliveries\n"
    )

    listed = ada.json("webhooks", "list")
    assert [w["id"] for w in listed][:2] == [webhook_id, everything["webhook"]["id"]]
    first = ada.kai("webhooks", "list", "--limit", "1", "--json")
    assert [w["id"] for w in json.loads(first.stdout)] == [webhook_id]
    assert "1 of " in first.stderr and "--after " in first.stderr
    table = ada.kai("webhooks", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "URL", "EVENTS", "AGENTS", "STATE", "DESCRIPTION", "CREATED"]
    row = next(line for line in table if webhook_id in line).split()
    assert row[1:6] == [f"{receiver.url}/results", "COMMAND_RESULT", "hooked", "active", "-"]
    row = next(line for line in table if everything["webhook"]["id"] in line).split()
    assert row[1:8] == [f"{receiver.url}/all", "all", "all", "active", "all", "of", "it"]


def test_rotate_test_redeliver_and_replay(ada: Person, receiver: Receiver) -> None:
    webhook_id, old = created(ada, receiver, "/rotated", "--event-type", "COMMAND_RESULT")
    done = ada.kai("webhooks", "rotate", webhook_id)
    said, new = done.stdout.splitlines()
    assert said == (
        f"webhook {webhook_id} has a new signing secret; the old one keeps signing beside it "
        "for 24 hours"
    )
    assert done.stderr == SECRET_ONCE + "\n" and new.startswith("whsec_") and new != old
    receiver.secrets.append(new)

    # A synthetic event, signed with both secrets while the old one lasts.
    tested = ada.kai("webhooks", "test", webhook_id).stdout
    assert tested.startswith("test delivery whd_") and "(seq 0, STATUS_UPDATE)" in tested
    assert tested.endswith(f" queued: see it with kai webhooks show {webhook_id}\n")
    delivery = tested.split()[2]
    (got,) = arrived(lambda: receiver.at("/rotated"))
    assert got.webhook_id == delivery and got.body["data"]["data"]["test"] is True
    assert sorted(got.verified_by) == sorted([old, new])

    # Sent again with the same webhook-id: a receiver that took it recognises it.
    again = ada.kai("webhooks", "redeliver", delivery).stdout
    assert again == (
        f"delivery {delivery} (seq 0, STATUS_UPDATE) of webhook {webhook_id} queued to be "
        "sent again\n"
    )
    arrived(lambda: len(receiver.at("/rotated")) == 2)
    assert receiver.at("/rotated")[1].webhook_id == delivery

    # Every COMMAND_RESULT of the agent's log, in seq order, as new deliveries.
    ada.kai("send", "hooked", "replayed")
    seqs = command_results(ada)
    arrived(lambda: len(receiver.at("/rotated")) == 3)
    replayed = ada.json("webhooks", "replay", webhook_id, "--agent", "hooked", "--after", "0")
    assert replayed == {"queued": len(seqs)}
    arrived(lambda: len(receiver.at("/rotated")) == 3 + len(seqs))
    assert [r.seq for r in receiver.at("/rotated")[3:]] == seqs
    last = str(seqs[-1])
    done = ada.kai("webhooks", "replay", webhook_id, "--agent", "hooked", "--after", last)
    assert done.stdout == (
        f"0 events of agent hooked after seq {last} queued for webhook {webhook_id}\n"
    )
    done = ada.kai("webhooks", "replay", webhook_id, "--agent", "hooked", "--after", "-1", code=6)
    assert done.stderr == "kai: BAD_USER_INPUT: after is a seq: 0 or more\n"


def test_a_410_pauses_the_webhook_until_it_is_made_active(ada: Person, receiver: Receiver) -> None:
    async def gone(_: int) -> int:
        return 410

    receiver.answers["/gone"] = gone
    webhook_id, _ = created(ada, receiver, "/gone", "--event-type", "COMMAND_RESULT")
    ada.kai("send", "hooked", "lost")
    arrived(lambda: ada.json("webhooks", "show", webhook_id)["active"] is False)

    shown = ada.kai("webhooks", "show", webhook_id, "--failed").stdout
    assert "state:       paused\n" in shown
    table = shown.split("\nfailed deliveries (1 of 1, newest first):\n")[1].splitlines()
    cells = table[1].split()
    assert cells[2:7] == ["COMMAND_RESULT", "hooked", "FAILED", "1", "410"]
    assert "  410  " in table[1] and "  answered HTTP 410  " in table[1]
    row = next(
        line for line in ada.kai("webhooks", "list").stdout.splitlines() if webhook_id in line
    )
    assert "  paused  " in row

    # Nothing is sent while it is paused; the CLI says so.
    done = ada.kai("webhooks", "redeliver", cells[0])
    assert done.stderr == (
        f"kai: webhook {webhook_id} is paused: nothing is sent until "
        f"`kai webhooks update {webhook_id} --active`\n"
    )
    del receiver.answers["/gone"]
    said = ada.kai("webhooks", "update", webhook_id, "--active").stdout
    assert said == (
        f"webhook {webhook_id} updated (active, COMMAND_RESULT of every agent): "
        f"{receiver.url}/gone\n"
    )
    (got,) = arrived(lambda: receiver.at("/gone"))
    assert got.webhook_id == cells[0]
    (edge,) = ada.json("webhooks", "show", webhook_id)["deliveries"]["edges"]
    assert (edge["node"]["state"], edge["node"]["attempts"]) == ("DELIVERED", 2)


def test_update_and_delete(ada: Person, receiver: Receiver) -> None:
    webhook_id, _ = created(ada, receiver, "/paused", "--paused", "--description", "a note")
    shown = ada.json("webhooks", "show", webhook_id)
    assert shown["active"] is False and shown["description"] == "a note"
    done = ada.kai("webhooks", "update", webhook_id, code=2)
    assert done.stderr.startswith("kai: nothing to change: ")

    changed = ada.json(
        *("webhooks", "update", webhook_id, "--endpoint", f"{receiver.url}/moved"),
        *("--description", "", "--event-type", "LOG", "--event-type", "ERROR"),
        *("--agent", "hooked"),
    )
    assert changed["url"] == f"{receiver.url}/moved" and changed["description"] is None
    assert changed["eventTypes"] == ["ERROR", "LOG"] and changed["active"] is False
    assert [a["name"] for a in changed["agents"]] == ["hooked"]
    said = ada.kai(
        "webhooks", "update", webhook_id, "--all-event-types", "--all-agents", "--active"
    ).stdout
    assert said == (
        f"webhook {webhook_id} updated (active, every event of every agent): {receiver.url}/moved\n"
    )
    paused = ada.json("webhooks", "update", webhook_id, "--paused")
    assert paused["active"] is False and paused["eventTypes"] == [] and paused["agents"] is None
    done = ada.kai("webhooks", "test", webhook_id, "--json")
    assert json.loads(done.stdout)["state"] == "PENDING" and " is paused: " in done.stderr

    assert ada.kai("webhooks", "delete", webhook_id).stdout == f"webhook {webhook_id} deleted\n"
    done = ada.kai("webhooks", "show", webhook_id, code=5)
    assert done.stderr.startswith("kai: NOT_FOUND: ")
    assert webhook_id not in [w["id"] for w in ada.json("webhooks", "list", "--all")]
    other, _ = created(ada, receiver, "/other")
    assert ada.json("webhooks", "delete", other) == {"deleted": other}


def test_what_is_refused_is_one_line_and_its_exit_code(ada: Person) -> None:
    done = ada.kai("webhooks", "create", "http://10.0.0.7/hook", code=6)
    assert done.stderr.startswith("kai: BAD_USER_INPUT: http:// only to addresses ")
    assert done.stderr.endswith("(input.url)\n")
    done = ada.kai("webhooks", "create", "ftp://example.com/hook", code=6)
    assert done.stderr == "kai: BAD_USER_INPUT: An https:// URL with a host (input.url)\n"
    done = ada.kai("webhooks", "create", "https://example.com/hook", "--agent", "nope", code=5)
    assert done.stderr == "kai: NOT_FOUND: no agent 'nope'\n"
    for args in (
        ("show", "whk" + NOWHERE),
        ("rotate", "whk" + NOWHERE),
        ("test", "whk" + NOWHERE),
        ("delete", "whk" + NOWHERE),
        ("redeliver", "whd" + NOWHERE),
        ("replay", "whk" + NOWHERE, "--agent", "hooked", "--after", "0"),
    ):
        assert ada.kai("webhooks", *args, code=5).stderr.startswith("kai: NOT_FOUND: ")

    # Refused before any request: argparse's usage errors, exit 2.
    done = ada.kai("webhooks", "create", "https://example.com/h", "--event-type", "NOPE", code=2)
    assert "invalid choice: 'NOPE'" in done.stderr
    done = ada.kai("webhooks", "update", "x", "--event-type", "LOG", "--all-event-types", code=2)
    assert "not allowed with" in done.stderr
    assert "--agent" in ada.kai("webhooks", "replay", "x", "--after", "0", code=2).stderr


def test_the_event_types_are_the_schemas() -> None:
    schema = build_schema((ROOT / "graphql.schema").read_text())
    kinds = schema.type_map["AgentEventType"]
    assert isinstance(kinds, GraphQLEnumType)
    assert tuple(kinds.values) == EVENT_TYPES
