"""`kai send`, `kai prompt` (streamed) and `kai events` (--follow: live, resumed)."""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
from collections.abc import Generator
from contextlib import closing

from kai_sdk.cli import output
from kai_sdk.cli.connect import CliClient, agent_id, client
from kai_sdk.cli.exits import CliError, not_found, usage
from kai_sdk.client.sync.fragments import AgentEventFields


def send(args: argparse.Namespace) -> int:
    with client(args) as kai:
        result = kai.command(
            agent_id(kai, args.agent),
            args.command,
            args.params,
            idempotency_key=args.idempotency_key,
        )
    held = result.approval
    if args.json:
        output.emit_json(result)
    elif result.success:
        print(json.dumps(result.result, indent=2, ensure_ascii=False))
    elif held is not None and held.state.value == "PENDING":
        expires = output.when(held.expires_at, args)
        print(
            f"{args.command} waits for approval {held.id} (expires {expires}): it runs once "
            f"a person approves it (kai approvals approve {held.id}); its result comes as a "
            "COMMAND_RESULT event (kai events)"
        )
    if held is not None and held.state.value == "PENDING":
        return 0
    if not result.success:
        if not args.json:
            print(f"kai: the command failed: {result.error}", file=sys.stderr)
        return 1
    return 0


def prompt(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        raise usage("the prompt is empty")
    with client(args) as kai, closing(kai.prompt(agent_id(kai, args.agent), text)) as chunks:
        ended = False
        for chunk in chunks:
            if args.json:
                output.emit_line(chunk)
            else:
                sys.stdout.write(chunk.delta)
                sys.stdout.flush()
            ended = ended or chunk.done
    if not args.json:
        sys.stdout.write("\n")
    if not ended:
        raise CliError("the answer ended before its last chunk", code="UNREACHABLE", exit_code=8)
    return 0


def events(args: argparse.Namespace) -> int:
    after = args.after if args.after is not None else (None if args.follow else 0)
    wanted = {kind.upper() for kind in args.type} if args.type else None
    shown = 0
    with client(args) as kai:
        agent = agent_id(kai, args.agent)
        # Asked first: a wrong id, a bad credential or a server that is away each fail
        # here at once, where the subscription would keep retrying.
        if kai.agent(agent).agent is None:
            raise not_found(f"no agent {args.agent!r}")
        stream = (
            _events(kai, agent, after)
            if args.follow
            else _until_quiet(kai, agent, after, args.wait)
        )
        with closing(stream):
            for event in stream:
                if wanted is not None and event.type_.value not in wanted:
                    continue
                _print_event(event, args)
                shown += 1
                if args.count is not None and shown >= args.count:
                    break
    return 0


def _events(
    kai: CliClient, agent: str, after: int | None
) -> Generator[AgentEventFields, None, None]:
    # patience=None: a follower waits out a server restart however long it takes.
    yield from kai.watch_agent_events(agent, after=after, patience=None)


def _until_quiet(
    kai: CliClient, agent: str, after: int | None, wait: float
) -> Generator[AgentEventFields, None, None]:
    """The events until none has come for `wait` seconds: the stored ones are replayed
    at once, so a pause means the replay is over. A thread reads the subscription (its
    reads cannot time out); it ends with the process."""
    found: queue.Queue[AgentEventFields | BaseException | None] = queue.Queue()

    def read() -> None:
        try:
            for event in kai.watch_agent_events(agent, after=after):
                found.put(event)
        except BaseException as exc:  # handed to the reader, raised there
            found.put(exc)
        found.put(None)

    threading.Thread(target=read, name="kai-events", daemon=True).start()
    while True:
        try:
            item = found.get(timeout=wait)
        except queue.Empty:
            return
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def _print_event(event: AgentEventFields, args: argparse.Namespace) -> None:
    if args.json:
        output.emit_line(event)
        return
    data = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
    moment = output.when(event.timestamp, argparse.Namespace(iso=True))
    sys.stdout.write(f"{event.seq:>6}  {moment}  {event.type_.value:<14}  {data}\n")
    sys.stdout.flush()
