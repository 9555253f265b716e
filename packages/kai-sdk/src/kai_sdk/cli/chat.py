"""`kai chat AGENT [--thread THREAD]`: a conversation in a thread, line by line.

Each line read from stdin is a message (sendMessage, over a WebSocket of its own), and
the answer is written to stdout as its chunks come, after `NAME> `. On a terminal, `you> `
asks for each line; otherwise each line read is written to stdout after `you> ` too, so
that stdout is the transcript either way. What is not the conversation (the thread's id,
how to continue it, a stopped answer) goes to stderr.

Ctrl-C while an answer is written ends that answer's subscription: the server keeps what
was said, marked interrupted, and the chat goes on. A refused message or a failed answer
is one line on stderr (`kai: CODE: message`) and the chat goes on; the exit code is that
of the last failure (0 when none). /exit, /quit or the end of stdin ends the chat.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import closing, suppress

from kai_sdk.cli import output
from kai_sdk.cli.connect import CliClient, agent_id, client, thread_id
from kai_sdk.cli.exits import OK, UNREACHABLE, CliError, usage
from kai_sdk.cli.run import client_failure
from kai_sdk.client.errors import KaiClientError
from kai_sdk.client.sync import BusyPolicy, ThreadInput
from kai_sdk.client.sync.fragments import MessageFields, ThreadFields

ENDS = {"/exit", "/quit"}
YOU = "you"


def chat(args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    failed = OK
    with client(args) as kai:
        thread = _thread(kai, args)
        name = thread.agent.name
        for line in _lines(interactive):
            text = line.strip()
            if text in ENDS:
                break
            if not text:
                continue
            if not interactive:
                _say(f"{YOU}> {text}\n")
            failed = _answer(kai, thread.id, name, text, args) or failed
    return failed


def _thread(kai: CliClient, args: argparse.Namespace) -> ThreadFields:
    """The thread to talk in: the one --thread names (its last messages printed), or a
    new one with the agent (its id printed)."""
    agent = agent_id(kai, args.agent)
    if args.thread is None:
        made = kai.create_thread(ThreadInput(agent_id=agent, title=args.title)).create_thread
        _note(
            f"thread {made.id} started with {made.agent.name}; continue it with: "
            f"kai chat {args.agent} --thread {made.id}"
        )
        return made
    if args.title is not None:
        raise usage("--title names a new thread: leave it out with --thread")
    ref = thread_id(kai, args.thread)
    found = kai.thread(ref, with_messages=args.history > 0, last=args.history or None).thread
    if found is None:
        raise CliError(f"no thread {args.thread!r}", code="NOT_FOUND")
    if found.agent.id != agent:
        raise usage(f"thread {found.id} is with agent {found.agent.name}, not {args.agent}")
    page = found.messages
    earlier = page is not None and page.page_info.has_previous_page
    _note(
        f"thread {found.id} with {found.agent.name}"
        + (f", {page.total_count} messages" if page is not None else "")
        + (f"; the last {len(page.edges)}:" if earlier and page is not None else "")
    )
    for edge in page.edges if page is not None else []:
        _print_message(edge.node, found.agent.name, args)
    return found


def _lines(interactive: bool) -> Iterator[str]:
    """The lines written, until the end of stdin; on a terminal, each asked for."""
    if not interactive:
        yield from sys.stdin
        return
    with suppress(ImportError):  # not on every platform
        import readline  # noqa: F401  (line editing and history for input())
    while True:
        try:
            yield input(f"{YOU}> ")
        except EOFError:
            sys.stdout.write("\n")
            return
        except KeyboardInterrupt:  # at the prompt: the chat ends (exit code 130)
            sys.stdout.write("\n")
            raise


def _answer(kai: CliClient, thread: str, name: str, text: str, args: argparse.Namespace) -> int:
    """Sends `text` and writes its answer as it comes; the exit code of a failure, else 0."""
    on_busy = BusyPolicy(args.on_busy.upper())
    ended = False
    started = False
    try:
        with closing(kai.ask(thread, text, on_busy=on_busy)) as chunks:
            for chunk in chunks:
                if args.json:
                    output.emit_line(chunk)
                else:
                    if not started:
                        _say(f"{name}> ")
                    _say(chunk.delta)
                started = True
                ended = ended or chunk.done
    except KeyboardInterrupt:
        _end_line(started, args)
        _note("answer stopped: the thread keeps what was said, marked interrupted")
        return OK
    except KaiClientError as exc:
        _end_line(started, args)
        failure = client_failure(exc, args)
        print(failure.line(), file=sys.stderr)
        return failure.exit_code
    _end_line(started, args)
    if not ended:
        failure = CliError("the answer ended before its last chunk", code="UNREACHABLE")
        print(failure.line(), file=sys.stderr)
        return UNREACHABLE
    return OK


def _print_message(message: MessageFields, name: str, args: argparse.Namespace) -> None:
    if args.json:
        output.emit_line(message)
        return
    who = YOU if message.role.value == "USER" else name
    mark = " [interrupted]" if message.interrupted else ""
    _say(f"{who}> {message.content}{mark}\n")


def _end_line(started: bool, args: argparse.Namespace) -> None:
    if started and not args.json:
        _say("\n")


def _say(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _note(text: str) -> None:
    sys.stdout.flush()
    print(f"kai: {text}", file=sys.stderr, flush=True)
