"""`kai`'s commands for people (kai_sdk.cli), run as real processes against one real
`kai serve`, each person with a HOME and XDG_CONFIG_HOME of their own.

The server's access tokens live one second (no leeway): every command refreshes its
session first, so refresh-token rotation is exercised throughout, across invocations
and by concurrent ones, and a following `kai events` outlives its token's expiry (the
server closes the socket 4403 at its next check; the client refreshes and resumes).
"""

from __future__ import annotations

import json
import os
import pty
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kai_sdk.client import KaiClient
from kai_sdk.client.sync import AgentConfigInput
from tests.support.servers import ROOT, clean_env, free_port, kai_serve

pytestmark = pytest.mark.slow

ADMIN = ("ada@example.com", "correct horse battery staple 1")
USER = ("bob@example.com", "correct horse battery staple 2")
TIMEOUT = 60.0
KAI = shutil.which("kai", path=str(Path(sys.executable).parent))
COMMAND = [KAI] if KAI else [sys.executable, "-m", "kai.cli"]


@dataclass
class Person:
    """Someone at a shell: their own home (and config folder) and the server's URL."""

    home: Path
    url: str

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAI_", "XDG_"))}
        env |= {"HOME": str(self.home), "XDG_CONFIG_HOME": str(self.home / ".config")}
        return env | {"KAI_URL": self.url, "COLUMNS": "200"} | extra

    @property
    def credentials(self) -> Path:
        return self.home / ".config" / "kai" / "credentials.json"

    def stored(self) -> dict[str, Any]:
        entry: dict[str, Any] = json.loads(self.credentials.read_text())["servers"][self.url]
        return entry

    def kai(
        self,
        *args: str,
        code: int = 0,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Runs `kai ARGS`; its exit code must be `code`."""
        done = subprocess.run(
            [*COMMAND, *args],
            env=self.env(**(env or {})),
            cwd=self.home,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == code, f"kai {' '.join(args)}: {done.returncode}\n{done.stderr}"
        if code != 0:
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("kai: "), done.stderr
            assert "Traceback" not in done.stderr
        return done

    def json(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return json.loads(self.kai(*args, "--json", env=env).stdout)

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*COMMAND, *args],
            env=self.env(),
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def on_terminal(self, *args: str, columns: int = 80) -> tuple[int, str]:
        """Runs `kai ARGS` with a terminal for stdout and stderr: (exit code, what it drew)."""
        leader, follower = pty.openpty()
        process = subprocess.Popen(
            [*COMMAND, *args],
            env=self.env(COLUMNS=str(columns)),
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        drawn = bytearray()
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not chunk:
                break
            drawn += chunk
        os.close(leader)
        return process.wait(timeout=TIMEOUT), drawn.decode()


def read_line(process: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    """The next line the process prints, within `timeout`."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                return process.stdout.readline().decode()
        raise AssertionError(f"no line within {timeout} s")
    finally:
        selector.close()


# --- one server, its people -------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    data = tmp_path_factory.mktemp("server")
    shutil.copy(sqlite_template, data / "kai.db")
    env = clean_env(
        KAI_DATA_DIR=str(data / "data"),
        KAI_DATABASE_URL=f"sqlite+aiosqlite:///{data / 'kai.db'}",
        KAI_ACCESS_TOKEN_TTL_SECONDS="1",
        KAI_JWT_LEEWAY_SECONDS="0",
        # Every command signs in again (a refresh): more than a person's budget.
        KAI_RATE_LIMIT_AUTH_PER_IP="100000",
        KAI_RATE_LIMIT_AUTH_PER_ACCOUNT="100000",
        # More agents than one page of names holds (test_a_name_past_the_first_page).
        KAI_QUOTA_AGENTS_PER_USER="200",
    )
    with kai_serve(env) as (url, _process):
        # The first account is an ADMIN, the second a USER.
        for email, password in (ADMIN, USER):
            with KaiClient(url) as client:
                client.sign_up(email, password)
        yield url


def person(tmp_path_factory: pytest.TempPathFactory, url: str, name: str) -> Person:
    return Person(tmp_path_factory.mktemp(name), url)


@pytest.fixture(scope="module")
def ada(tmp_path_factory: pytest.TempPathFactory, server: str) -> Person:
    """The ADMIN, signed in with `kai login` (the password read from stdin)."""
    ada = person(tmp_path_factory, server, "ada")
    done = ada.kai("login", "--email", ADMIN[0], stdin=ADMIN[1] + "\n")
    assert done.stdout.strip() == f"signed in to {server} as {ADMIN[0]} (ADMIN)"
    return ada


@pytest.fixture(scope="module")
def bob(tmp_path_factory: pytest.TempPathFactory, server: str) -> Person:
    bob = person(tmp_path_factory, server, "bob")
    bob.kai("login", "--email", USER[0], stdin=USER[1] + "\n")
    return bob


@pytest.fixture
def stranger(tmp_path: Path, server: str) -> Person:
    """Someone who never signed in."""
    return Person(tmp_path, server)


# --- signing in -------------------------------------------------------------------------


def test_login_keeps_one_session_per_server_in_a_0600_file(ada: Person, server: str) -> None:
    folder = ada.credentials.parent
    assert stat.S_IMODE(ada.credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    stored = json.loads(ada.credentials.read_text())
    assert list(stored["servers"]) == [server]
    assert stored["servers"][server]["kind"] == "session"
    assert stored["servers"][server]["email"] == ADMIN[0]

    who = ada.json("whoami")
    assert (who["url"], who["credential"], who["user"]["email"]) == (server, "session", ADMIN[0])
    assert who["user"]["role"] == "ADMIN" and "agent.create" in who["session"]["permissions"]
    table = ada.kai("whoami").stdout
    assert f"email:        {ADMIN[0]}" in table and "role:         ADMIN" in table


def test_a_wrong_password_is_unauthenticated(stranger: Person) -> None:
    done = stranger.kai("login", "--email", USER[0], code=3, stdin="not the password\n")
    assert done.stderr.startswith("kai: UNAUTHENTICATED: ")
    assert not stranger.credentials.exists()


def test_not_signed_in_unreachable_and_usage_errors(stranger: Person) -> None:
    done = stranger.kai("agents", "list", code=3)
    assert done.stderr == (
        f"kai: UNAUTHENTICATED: not signed in to {stranger.url}: kai login --url "
        f"{stranger.url} (or set KAI_API_KEY)\n"
    )
    closed = f"http://127.0.0.1:{free_port()}"
    done = stranger.kai("login", "--url", closed, "--email", "a@b.c", code=8, stdin="pw\n")
    assert done.stderr.startswith(f"kai: UNREACHABLE: cannot reach {closed} (")
    done = stranger.kai("agents", "list", "--url", closed, code=8, env={"KAI_API_KEY": "kai_x"})
    assert "UNREACHABLE" in done.stderr
    stranger.kai("agents", "list", "--url", "localhost:8000", code=2)
    bad = subprocess.run(
        [*COMMAND, "send", "x", "ping", "--params", "[1]"],
        env=stranger.env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert bad.returncode == 2 and "must be a JSON object" in bad.stderr


def test_refresh_rotation_survives_across_invocations(
    tmp_path_factory: pytest.TempPathFactory, server: str
) -> None:
    """Access tokens live a second: each invocation spends the stored refresh token and
    stores the new pair; two at once share one refresh through the file's lock; a
    refresh token spent elsewhere ends the session, and the CLI forgets it."""
    carol = person(tmp_path_factory, server, "carol")
    carol.kai("login", "--email", USER[0], stdin=USER[1] + "\n")
    seen = [carol.stored()["tokens"]["refreshToken"]]
    for command in (("whoami",), ("agents", "list")):
        time.sleep(1.1)
        carol.kai(*command)
        seen.append(carol.stored()["tokens"]["refreshToken"])
    assert len(set(seen)) == 3

    time.sleep(1.1)
    both = [carol.popen("agents", "list", "--json") for _ in range(2)]
    assert [p.wait(timeout=TIMEOUT) for p in both] == [0, 0]
    for process in both:
        assert process.stdout is not None and process.stderr is not None
        json.loads(process.stdout.read())
        process.stdout.close()
        process.stderr.close()
    carol.kai("whoami")

    # Someone else spends the stored refresh token: presenting it again ends the session.
    with KaiClient(server) as other:
        other.refresh_token(carol.stored()["tokens"]["refreshToken"])
    time.sleep(1.1)
    done = carol.kai("whoami", code=3)
    assert done.stderr.startswith("kai: UNAUTHENTICATED: ")
    assert "kai login" in done.stderr
    assert json.loads(carol.credentials.read_text())["servers"] == {}
    carol.kai("logout")  # nothing to forget: still fine


# --- agents, commands, prompts, events ----------------------------------------------------


def test_agents_lifecycle(ada: Person) -> None:
    created = ada.json("agents", "create", "alpha", "--type", "echo", "--capability", "chat")
    assert (created["name"], created["type"], created["state"]) == ("alpha", "echo", "RUNNING")
    ada.kai("agents", "create", "beta", "--type", "echo", "--config", '{"delaySeconds": 0}')
    done = ada.kai("agents", "create", "gamma", "--type", "nope", code=6)
    assert done.stderr.startswith("kai: BAD_USER_INPUT: ")

    names = [a["name"] for a in ada.json("agents", "list", "--sort", "name")]
    assert names[:2] == ["alpha", "beta"]
    assert [a["name"] for a in ada.json("agents", "list", "--capability", "chat")] == ["alpha"]
    assert [a["name"] for a in ada.json("agents", "list", "--name", "ALP")] == ["alpha"]
    assert ada.json("agents", "list", "--state", "STOPPED", "--type", "echo") == []
    first = ada.kai("agents", "list", "--limit", "1", "--sort", "name", "--json")
    assert [a["name"] for a in json.loads(first.stdout)] == ["alpha"]
    assert "1 of " in first.stderr and "--after " in first.stderr
    every = ada.json("agents", "list", "--all", "--sort", "name", "--reverse")
    assert [a["name"] for a in every][-2:] == ["beta", "alpha"]
    table = ada.kai("agents", "list", "--name", "alpha").stdout.splitlines()
    assert table[0].split() == [
        "ID",
        "NAME",
        "TYPE",
        "STATE",
        "CAPABILITIES",
        "OWNER",
        "LAST",
        "SEEN",
        "CREATED",
    ]
    assert table[1].split()[1:5] == ["alpha", "echo", "RUNNING", "chat"]

    # By name or by id.
    assert ada.json("agents", "show", "alpha")["id"] == created["id"]
    shown = ada.kai("agents", "show", created["id"]).stdout
    assert "state:         RUNNING" in shown and "health:" in shown
    updated = ada.json("agents", "update", "alpha", "--name", "alpha2", "--capability", "x")
    assert (updated["name"], updated["capabilities"]) == ("alpha2", ["x"])
    assert ada.json("agents", "stop", "alpha2")["state"] == "STOPPED"
    assert ada.kai("agents", "restart", "alpha2").stdout.endswith(": RUNNING\n")
    ada.kai("agents", "delete", "alpha2", code=2)  # no terminal to ask: --yes needed
    assert ada.kai("agents", "delete", "alpha2", "--yes").stdout == (
        f"agent {created['id']} deleted\n"
    )
    done = ada.kai("agents", "show", "alpha2", code=5)
    assert done.stderr == "kai: NOT_FOUND: no agent 'alpha2'\n"
    done = ada.kai("agents", "restart", created["id"], code=5)
    assert done.stderr.startswith("kai: NOT_FOUND: ")


def test_a_name_past_the_first_page_of_those_containing_it_is_found(
    tmp_path_factory: pytest.TempPathFactory, server: str
) -> None:
    email, password = "carol@example.com", "correct horse battery staple 3"
    with KaiClient(server) as client:
        client.sign_up(email, password)
        wanted = client.create_agent(AgentConfigInput(name="x", type_="echo")).create_agent
        # 100 newer agents whose names contain "x": a page of them, newest first.
        for index in range(100):
            client.create_agent(AgentConfigInput(name=f"x{index}", type_="echo"))
    carol = person(tmp_path_factory, server, "carol")
    carol.kai("login", "--email", email, stdin=password + "\n")

    assert carol.json("agents", "show", "x")["id"] == wanted.id


def test_a_table_fits_the_terminal(ada: Person) -> None:
    ada.kai("agents", "create", "a-rather-long-agent-name-to-cut-short", "--type", "echo")
    code, drawn = ada.on_terminal("agents", "list", "--name", "rather", columns=70)
    lines = drawn.strip().splitlines()
    assert code == 0 and len(lines) == 2
    assert all(len(line.rstrip()) <= 70 for line in lines), lines
    assert "…" in lines[1] and lines[1].startswith("agt_")


def test_send_and_a_streamed_prompt(ada: Person) -> None:
    ada.kai("agents", "create", "talker", "--type", "echo", "--config", '{"delaySeconds": 0.3}')
    done = ada.kai("send", "talker", "ping", "--params", '{"n": 1}')
    assert json.loads(done.stdout) == {"echo": "ping", "params": {"n": 1}}
    sent = ada.json("send", "talker", "ping")
    assert sent["success"] is True and sent["result"] == {"echo": "ping", "params": {}}

    words = "one two three four five six"
    process = ada.popen("prompt", "talker", words)
    assert process.stdout is not None
    first = os.read(process.stdout.fileno(), 100).decode()
    # The first words came while the agent was still answering.
    assert first and words.startswith(first) and process.poll() is None
    rest, errors = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, errors
    assert first + rest.decode() == words + "\n"

    lines = ada.kai("prompt", "talker", "a b", "--json").stdout.splitlines()
    chunks = [json.loads(line) for line in lines]
    assert "".join(c["delta"] for c in chunks) == "a b" and chunks[-1]["done"] is True


def test_events_replayed_then_followed_after_a_seq(ada: Person) -> None:
    agent = ada.json("agents", "create", "watched", "--type", "echo")["id"]
    ada.kai("send", "watched", "first")
    stored = [
        json.loads(line) for line in ada.kai("events", "watched", "--json").stdout.splitlines()
    ]
    assert stored[0]["type"] == "STATUS_UPDATE" and stored[-1]["type"] == "COMMAND_RESULT"
    last = stored[-1]["seq"]
    assert ada.kai("events", agent, "--after", str(last), "--wait", "0.5").stdout == ""

    follower = ada.popen("events", "watched", "--follow", "--after", str(last), "--json")
    try:
        # Past the server's check of the socket's credentials (5 s), which closes it
        # once the one-second access token has expired: the follower resumes.
        time.sleep(6)
        ada.kai("send", "watched", "second")
        event = json.loads(read_line(follower))
        assert (event["seq"], event["type"]) == (last + 1, "COMMAND_RESULT")
        assert event["data"]["command"] == "second"
        assert follower.poll() is None
    finally:
        follower.send_signal(signal.SIGINT)
        follower.communicate(timeout=TIMEOUT)
    assert follower.returncode == 130

    followed = ada.kai("events", "watched", "--follow", "--after", "0", "--count", "2")
    assert [line.split()[0] for line in followed.stdout.splitlines()] == ["1", "2"]


# --- tasks and files ----------------------------------------------------------------------


def test_tasks_enqueue_watch_cancel(ada: Person) -> None:
    ada.kai("agents", "create", "worker", "--type", "echo")
    payload = '{"steps": 4, "stepSeconds": 0.1}'
    task = ada.json("tasks", "enqueue", "worker", "echo", "--payload", payload)
    assert task["state"] in {"PENDING", "RUNNING"} and task["agent"]["name"] == "worker"

    watched = ada.kai("tasks", "watch", task["id"]).stdout.splitlines()
    assert watched[-2].split()[1:] == [task["id"], "COMPLETED", "100%"]
    assert watched[-1] == 'result: {"steps":4,"stepSeconds":0.1}'
    updates = [
        json.loads(line)
        for line in ada.kai("tasks", "watch", task["id"], "--json").stdout.splitlines()
    ]
    assert updates[-1]["state"] == "COMPLETED" and updates[-1]["progress"] == 1

    # On a terminal: one bar, redrawn in place, up to its end.
    code, drawn = ada.on_terminal(
        "tasks", "enqueue", "worker", "echo", "--payload", payload, "--watch"
    )
    assert code == 0
    assert "\r" in drawn and "[" + "#" * 10 in drawn and "100%  COMPLETED" in drawn

    later = ada.json("tasks", "enqueue", "worker", "echo", "--delay", "600")
    assert ada.json("tasks", "cancel", later["id"])["state"] == "CANCELLED"
    done = ada.kai("tasks", "watch", later["id"], code=1)
    assert done.stderr == f"kai: task {later['id']} CANCELLED\n"
    cancelled = ada.json("tasks", "list", "--agent", "worker", "--state", "CANCELLED")
    assert [t["id"] for t in cancelled] == [later["id"]]
    listed = ada.kai("tasks", "list", "--agent", "worker").stdout.splitlines()
    assert listed[0].split()[:4] == ["ID", "AGENT", "TYPE", "STATE"] and len(listed) == 4
    assert "state:     CANCELLED" in ada.kai("tasks", "show", later["id"]).stdout
    ada.kai("tasks", "show", "tsk_" + "0" * 32, code=5)


def test_files_upload_download_search(ada: Person) -> None:
    ada.kai("agents", "create", "librarian", "--type", "echo")
    notes = ada.home / "kestrel.txt"
    notes.write_text("The kestrel hovers over the meadow, watching for voles.\n" * 2000)
    uploaded = ada.json("files", "upload", str(notes), "--agent", "librarian")
    assert (uploaded["originalName"], uploaded["size"]) == ("kestrel.txt", notes.stat().st_size)
    assert uploaded["agent"]["name"] == "librarian"

    # On a terminal, a progress bar on stderr.
    code, drawn = ada.on_terminal("files", "upload", str(notes))
    assert code == 0 and "kestrel.txt [" in drawn and "100%" in drawn

    listed = ada.json("files", "list", "--agent", "librarian")
    assert [f["id"] for f in listed] == [uploaded["id"]]
    assert len(ada.json("files", "list", "--name", "KESTREL", "--sort", "size")) == 2

    ada.kai("files", "download", uploaded["id"], "--output", "copy.txt")
    assert (ada.home / "copy.txt").read_bytes() == notes.read_bytes()
    done = ada.kai("files", "download", uploaded["id"], "--output", "copy.txt", code=1)
    assert done.stderr == "kai: copy.txt exists; --force replaces it\n"
    streamed = ada.kai("files", "download", uploaded["id"], "-o", "-").stdout
    assert streamed == notes.read_text()
    code, drawn = ada.on_terminal("files", "download", uploaded["id"], "-o", "bar.txt")
    assert code == 0 and "bar.txt [" in drawn and "100%" in drawn

    hits = ada.json("files", "search", "bird of prey over a field", "--agent", "librarian")
    assert hits and hits[0]["file"]["id"] == uploaded["id"]
    assert "kestrel.txt" in ada.kai("files", "search", "voles").stdout
    ada.kai("files", "download", "fil_" + "0" * 32, code=5)
    assert ada.json("files", "delete", uploaded["id"]) == {"deleted": uploaded["id"]}


# --- keys, accounts, the audit log --------------------------------------------------------


def test_api_keys(ada: Person, tmp_path_factory: pytest.TempPathFactory, server: str) -> None:
    created = ada.json("keys", "create", "ci", "--permission", "agent.read", "--days", "7")
    secret = created["secret"]
    assert created["apiKey"]["name"] == "ci" and created["apiKey"]["permissions"] == ["agent.read"]
    assert "ci" in [k["name"] for k in ada.json("keys", "list")]

    robot = person(tmp_path_factory, server, "robot")
    robot.kai("login", "--api-key", stdin=secret + "\n")
    assert robot.stored()["kind"] == "apiKey"
    assert robot.json("whoami")["credential"] == "apiKey"
    robot.kai("agents", "list")
    done = robot.kai("agents", "create", "nope", "--type", "echo", code=4)
    assert done.stderr.startswith("kai: FORBIDDEN: ")
    # KAI_API_KEY signs in without a stored credential.
    keyed = person(tmp_path_factory, server, "keyed")
    assert keyed.json("whoami", env={"KAI_API_KEY": secret})["user"]["email"] == ADMIN[0]

    assert ada.kai("keys", "revoke", "ci").stdout.endswith("(ci) revoked\n")
    robot.kai("agents", "list", code=3)
    revoked = ada.json("keys", "list", "--revoked")
    assert [k["active"] for k in revoked if k["name"] == "ci"] == [False]
    robot.kai("logout")
    assert json.loads(robot.credentials.read_text())["servers"] == {}


def test_users_and_audit_as_admin(ada: Person, bob: Person) -> None:
    done = bob.kai("users", "list", code=4)
    assert done.stderr == "kai: FORBIDDEN: Missing permission: user.read\n"
    bob.kai("audit", code=4)

    users = ada.json("users", "list")
    roles = {u["email"]: u["role"] for u in users}
    assert (roles[ADMIN[0]], roles[USER[0]]) == ("ADMIN", "USER")
    assert [u["email"] for u in ada.json("users", "list", "--role", "ADMIN")] == [ADMIN[0]]
    assert ada.kai("users", "role", USER[0], "DEVELOPER").stdout.startswith(f"{USER[0]} (usr_")
    assert ada.json("users", "disable", USER[0])["active"] is False
    bob.kai("agents", "list", code=3)  # disabling revoked bob's session
    assert USER[0] in [u["email"] for u in ada.json("users", "list", "--disabled")]
    assert ada.json("users", "enable", USER[0])["active"] is True
    ada.kai("users", "role", "nobody@example.com", "USER", code=5)

    denied = ada.json("audit", "--user", USER[0], "--denied", "--all")
    assert {"user.read", "system.audit"} <= {e["action"] for e in denied}
    assert all(e["granted"] is False for e in denied)
    managed = ada.json("audit", "--action", "user.manage", "--limit", "2")
    assert len(managed) == 2 and all(e["user"]["email"] == ADMIN[0] for e in managed)
    assert "user.manage" in ada.kai("audit", "--action", "user.manage", "--iso").stdout


# --- the command itself -------------------------------------------------------------------


def test_help_groups_the_commands(stranger: Person) -> None:
    text = stranger.kai("--help").stdout
    people, operators = text.index("for people using a server"), text.index("for running a")
    assert people < text.index("  agents ") < operators < text.index("  serve ")
    sdk_alone = subprocess.run(
        [sys.executable, "-m", "kai_sdk.cli", "--help"],
        env=stranger.env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    assert "  agents " in sdk_alone.stdout and "  serve " not in sdk_alone.stdout


def test_the_commands_for_people_load_nothing_of_the_server(ada: Person) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kai.cli", "agents", "list"],
        env=ada.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    # kai.cli runs as __main__; the kai package (empty) is its parent.
    server = sorted(name for name in imported if name.partition(".")[0] == "kai")
    assert server == ["kai"]
    assert not {"sqlalchemy", "strawberry", "starlette", "uvicorn"} & {
        name.partition(".")[0] for name in imported
    }
