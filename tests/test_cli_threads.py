"""`kai chat` and `kai threads` (kai_sdk.cli.chat, kai_sdk.cli.threads), run as real
processes against a real `kai serve`, its `llm` agent talking to the fake OpenAI server
(tests/support/fake_openai.py, on a thread):

- a chat fed on stdin: a thread started (its id on stderr, with how to continue it), each
  line answered, stdout the transcript; continued with --thread, its last messages
  printed first; /exit ends it; listed, shown and deleted with `kai threads`, listed
  by when started or (--order updated) by when last written to;
- Ctrl-C (SIGINT) while an llm's answer comes stops that answer, which the thread keeps
  as far as it got, marked interrupted, and the chat goes on;
- a refused message is one line on stderr, the chat goes on, and the exit code is the
  refusal's; a thread of another agent, or none, is refused before anything is sent;
- on a terminal, `you> ` asks for each line, and Ctrl-D ends the chat.
"""

from __future__ import annotations

import json
import os
import pty
import select
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kai_sdk.client import KaiClient
from tests.support.fake_openai import FakeOpenAI
from tests.support.servers import clean_env, kai_serve
from tests.support.threaded_app import app_on_a_thread

pytestmark = pytest.mark.slow

ADMIN = ("ada@example.com", "correct horse battery staple 1")
TIMEOUT = 60.0
KAI = shutil.which("kai", path=str(Path(sys.executable).parent))
COMMAND = [KAI] if KAI else [sys.executable, "-m", "kai.cli"]
WORDS = ["one ", "two ", "three ", "four ", "five ", "six ", "seven ", "eight"]
WHOLE = "".join(WORDS)


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
        """Runs `kai ARGS`; its exit code must be `code`."""
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
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.kai(*args, "--json").stdout)

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*COMMAND, *args],
            env=self.env(),
            cwd=self.home,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    """Eight chunks, a quarter of a second apart: an answer can be stopped half way."""
    server = FakeOpenAI(chunks=list(WORDS), chunk_delay=0.25)
    with app_on_a_thread(server.app()) as url:
        server.base_url = f"{url}/v1"
        yield server


@pytest.fixture(scope="module")
def ada(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, fake: FakeOpenAI
) -> Iterator[Person]:
    """Signed in with `kai login` to a fresh `kai serve`, with an echo agent (parrot) and
    an llm agent (writer)."""
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
        ada.kai("agents", "create", "parrot", "--type", "echo")
        config = {"baseUrl": fake.base_url, "model": "m", "apiKey": fake.api_key}
        ada.kai("agents", "create", "writer", "--type", "llm", "--config", json.dumps(config))
        _running(ada, "parrot")
        _running(ada, "writer")
        yield ada


def _running(person: Person, agent: str) -> None:
    deadline = time.monotonic() + 30
    while person.json("agents", "show", agent)["state"] != "RUNNING":
        assert time.monotonic() < deadline, f"{agent} did not run"
        time.sleep(0.1)


def _started(stderr: str) -> str:
    """The id of the thread `kai chat` said it started."""
    line = next(line for line in stderr.splitlines() if " started with " in line)
    return line.split()[2]


def test_a_chat_is_started_continued_listed_and_deleted(ada: Person) -> None:
    done = ada.kai("chat", "parrot", "--title", "Greetings", stdin="hello there\n\nhow are you\n")
    thread = _started(done.stderr)
    assert done.stderr == (
        f"kai: thread {thread} started with parrot; continue it with: "
        f"kai chat parrot --thread {thread}\n"
    )
    assert done.stdout == (
        "you> hello there\nparrot> hello there\nyou> how are you\nparrot> how are you\n"
    )

    # Continued: the last messages first; /exit ends it (the line after is not sent).
    done = ada.kai(
        "chat", "parrot", "--thread", thread, "--history", "3", stdin="again\n/exit\nnever\n"
    )
    assert done.stderr == f"kai: thread {thread} with parrot, 4 messages; the last 3:\n"
    assert done.stdout == (
        "parrot> hello there\nyou> how are you\nparrot> how are you\nyou> again\nparrot> again\n"
    )
    # By its title, the whole of a short thread.
    done = ada.kai("chat", "parrot", "--thread", "Greetings", stdin="")
    assert done.stderr == f"kai: thread {thread} with parrot, 6 messages\n"
    assert done.stdout.splitlines()[0] == "you> hello there"

    listed = ada.json("threads", "list", "--agent", "parrot")
    assert [(t["id"], t["title"], t["busy"]) for t in listed] == [(thread, "Greetings", False)]
    table = ada.kai("threads", "list").stdout.splitlines()
    assert table[0].split()[:4] == ["ID", "AGENT", "TITLE", "STATE"]
    assert any(line.startswith(thread) and "Greetings" in line for line in table[1:])
    shown = ada.kai("threads", "show", "Greetings", "--messages", "2").stdout
    assert f"id:           {thread}\n" in shown and "messages:     6\n" in shown
    assert "\nmessages (2 of 6, oldest first):\nSEQ " in shown
    assert shown.rstrip().splitlines()[-1].split()[1:2] == ["parrot"]
    as_json = ada.json("threads", "show", thread, "--messages", "500")
    said = [
        (edge["node"]["role"], edge["node"]["content"]) for edge in as_json["messages"]["edges"]
    ]
    assert said == [
        ("USER", "hello there"),
        ("ASSISTANT", "hello there"),
        ("USER", "how are you"),
        ("ASSISTANT", "how are you"),
        ("USER", "again"),
        ("ASSISTANT", "again"),
    ]

    assert ada.kai("threads", "delete", "Greetings").stdout == f"thread {thread} deleted\n"
    done = ada.kai("threads", "show", thread, code=5)
    assert done.stderr.startswith("kai: NOT_FOUND: ")
    assert ada.json("threads", "list", "--agent", "parrot") == []


def test_threads_are_listed_by_when_started_or_last_written_to(ada: Person) -> None:
    older = _started(ada.kai("chat", "parrot", "--title", "Older", stdin="first\n").stderr)
    newer = _started(ada.kai("chat", "parrot", "--title", "Newer", stdin="second\n").stderr)
    ada.kai("chat", "parrot", "--thread", older, stdin="back again\n")

    def listed(*order: str) -> list[str]:
        return [t["id"] for t in ada.json("threads", "list", "--agent", "parrot", *order)]

    assert listed() == [newer, older]
    assert listed("--order", "created") == [newer, older]
    assert listed("--order", "updated") == [older, newer]
    assert listed("--order", "updated", "--all") == [older, newer]
    for thread in (older, newer):
        ada.kai("threads", "delete", thread)


def _read_until(process: subprocess.Popen[bytes], wanted: str, timeout: float = 30) -> str:
    """What the process wrote to stdout up to and with `wanted` (it may end mid-line)."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while wanted.encode() not in seen:
            assert time.monotonic() < deadline, f"not within {timeout} s: {seen!r}"
            if selector.select(timeout=deadline - time.monotonic()):
                chunk = os.read(process.stdout.fileno(), 4096)
                assert chunk, f"stdout ended: {seen!r}"
                seen += chunk
    finally:
        selector.close()
    return seen.decode()


def test_ctrl_c_stops_the_answer_and_the_chat_goes_on(ada: Person, fake: FakeOpenAI) -> None:
    # The answer to stop is slower (the fake reads its pause once per request): 0.75 s a
    # chunk leaves 4.5 s once "one two" shows, for the signal to land and the stop to reach
    # the server on a busy machine (at 0.25 s, 1.5 s).
    fake.chunk_delay = 0.75
    chat = ada.popen("chat", "writer", "--title", "Counting")
    assert chat.stdin is not None
    try:
        chat.stdin.write(b"count\n")
        chat.stdin.flush()
        so_far = _read_until(chat, "writer> one two ")
        chat.send_signal(signal.SIGINT)
        fake.chunk_delay = 0.25
        time.sleep(0.5)  # the stop is seen before the next line is read
        out, err = chat.communicate(b"again\n", timeout=TIMEOUT)
    finally:
        if chat.poll() is None:
            chat.kill()
    assert chat.returncode == 0, err
    transcript = so_far + out.decode()
    thread = _started(err.decode())
    assert "kai: answer stopped: the thread keeps what was said, marked interrupted\n" in (
        err.decode()
    )
    lines = transcript.splitlines()
    assert lines[0] == "you> count" and lines[1].startswith("writer> one two ")
    assert lines[1] != f"writer> {WHOLE}"
    assert lines[2:] == ["you> again", f"writer> {WHOLE}"]

    shown = ada.json("threads", "show", thread)
    said = [edge["node"] for edge in shown["messages"]["edges"]]
    assert [(m["role"], m["interrupted"]) for m in said] == [
        ("USER", False),
        ("ASSISTANT", True),
        ("USER", False),
        ("ASSISTANT", False),
    ]
    assert said[1]["content"].startswith("one two ") and said[1]["content"] != WHOLE
    assert said[3]["content"] == WHOLE
    # Continued, the cut answer says so.
    done = ada.kai("chat", "writer", "--thread", thread, "--history", "4", stdin="")
    assert done.stdout.splitlines() == [
        "you> count",
        f"writer> {said[1]['content']} [interrupted]",
        "you> again",
        f"writer> {WHOLE}",
    ]


def test_refusals_are_one_line_and_the_chat_goes_on(ada: Person) -> None:
    ada.kai("agents", "create", "sleeper", "--type", "echo")
    _running(ada, "sleeper")
    ada.kai("agents", "stop", "sleeper")
    done = ada.kai("chat", "sleeper", stdin="anyone?\nstill nobody?\n", code=9)
    refusals = [line for line in done.stderr.splitlines() if "AGENT_UNAVAILABLE" in line]
    assert len(refusals) == 2 and refusals[0].startswith("kai: AGENT_UNAVAILABLE: "), done.stderr
    assert done.stdout == "you> anyone?\nyou> still nobody?\n"
    thread = _started(done.stderr)

    done = ada.kai("chat", "parrot", "--thread", thread, stdin="hi\n", code=2)
    assert done.stderr == f"kai: thread {thread} is with agent sleeper, not parrot\n"
    done = ada.kai("chat", "parrot", "--thread", "no such title", stdin="hi\n", code=5)
    assert done.stderr == "kai: NOT_FOUND: no thread 'no such title'\n"
    done = ada.kai("chat", "parrot", "--thread", thread, "--title", "x", stdin="", code=2)
    assert done.stderr.startswith("kai: --title names a new thread")
    # Refused before anything was stored.
    assert ada.json("threads", "show", thread)["messages"]["totalCount"] == 0


def test_on_a_terminal_each_line_is_asked_for(ada: Person) -> None:
    leader, follower = pty.openpty()
    chat = subprocess.Popen(
        [*COMMAND, "chat", "parrot"],
        env=ada.env(),
        cwd=ada.home,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    drawn = b""
    try:
        drawn += _read_pty_until(leader, b"you> ")
        os.write(leader, b"hello terminal\n")
        drawn += _read_pty_until(leader, b"parrot> hello terminal")
        drawn += _read_pty_until(leader, b"you> ")
        os.write(leader, b"\x04")  # Ctrl-D: the end of input
        assert chat.wait(timeout=TIMEOUT) == 0
    finally:
        if chat.poll() is None:
            chat.kill()
        os.close(leader)
    text = drawn.decode().replace("\r\n", "\n")
    assert "kai: thread thr_" in text and " started with parrot" in text
    assert "you> hello terminal\nparrot> hello terminal\nyou> " in text


def _read_pty_until(leader: int, wanted: bytes, timeout: float = 30) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        assert time.monotonic() < deadline, f"not within {timeout} s: {seen!r}"
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            seen += os.read(leader, 4096)
    return seen
