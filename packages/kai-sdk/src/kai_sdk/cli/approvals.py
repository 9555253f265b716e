"""`kai approvals list|show|approve|reject|watch`."""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time
from collections.abc import Generator
from contextlib import closing
from typing import Any

from kai_sdk.cli import output, pages
from kai_sdk.cli.connect import CliClient, agent_id, client
from kai_sdk.cli.exits import not_found
from kai_sdk.cli.output import Column
from kai_sdk.client._support import Reconnects
from kai_sdk.client.errors import KaiConnectionError
from kai_sdk.client.sync import ApprovalFilter, ApprovalKind, ApprovalState
from kai_sdk.client.sync.fragments import ApprovalFields

PENDING = ApprovalState.PENDING


def columns(args: argparse.Namespace) -> list[Column]:
    return [
        Column("ID", lambda a: a.id),
        Column("KIND", lambda a: a.kind),
        Column("AGENT", lambda a: a.agent.name, shrink=True),
        Column("WHAT", what, shrink=True),
        Column("STATE", lambda a: a.state),
        Column("ASKED BY", lambda a: a.requested_by.email, shrink=True, optional=True),
        Column("ASKED", lambda a: output.when(a.created_at, args), optional=True),
        Column("EXPIRES/DECIDED", lambda a: _moment(a, args)),
        Column("DECIDED BY", _decider, shrink=True, optional=True),
        Column("REASON", lambda a: a.reason, shrink=True, optional=True),
    ]


def what(approval: ApprovalFields) -> str:
    """What would run, on one line: `deploy {"version":"1.4.2"}`, `report {"month":…}`, or
    what a remote agent's process asked."""
    subject = approval.subject
    if isinstance(subject, dict):
        if approval.kind is ApprovalKind.COMMAND:
            return _compact(subject.get("command"), subject.get("params"))
        if approval.kind is ApprovalKind.TASK:
            return _compact(subject.get("type"), subject.get("payload"))
    return json.dumps(subject, ensure_ascii=False, separators=(",", ":"))


def _compact(name: Any, value: Any) -> str:
    if value in (None, {}):
        return str(name)
    return f"{name} {json.dumps(value, ensure_ascii=False, separators=(',', ':'))}"


def _moment(approval: ApprovalFields, args: argparse.Namespace) -> str:
    if approval.state is PENDING:
        return output.when(approval.expires_at, args)
    return output.when(approval.decided_at, args)


def _decider(approval: ApprovalFields) -> str | None:
    return approval.decided_by.email if approval.decided_by is not None else None


def _filter(kai: CliClient, args: argparse.Namespace, *, states: Any = None) -> ApprovalFilter:
    return ApprovalFilter(
        agent_id=agent_id(kai, args.agent) if args.agent else None,
        kinds=[ApprovalKind(kind) for kind in args.kind] if args.kind else None,
        states=states,
    )


def _states(chosen: list[str] | None) -> list[ApprovalState] | None:
    """--state as the filter's states: PENDING when none is given, every state for `all`."""
    if not chosen:
        return [PENDING]
    if "all" in chosen:
        return None
    return [ApprovalState(state) for state in dict.fromkeys(chosen)]


def list_approvals(args: argparse.Namespace) -> int:
    with client(args) as kai:
        filter_ = _filter(kai, args, states=_states(args.state))
        found: list[ApprovalFields] = pages.nodes(
            args,
            lambda first, after: (
                kai.approvals(filter_, first=first, after=after, with_total=True).approvals
            ),
            lambda: kai.iter_approvals(filter_),
        )
    if args.json:
        output.emit_json(found)
    else:
        output.table(found, columns(args))
    return 0


def show_approval(args: argparse.Namespace) -> int:
    with client(args) as kai:
        approval = kai.approval(args.approval).approval
    if approval is None:
        raise not_found(f"no approval {args.approval!r}")
    if args.json:
        output.emit_json(approval)
        return 0
    output.details(_details(approval, args))
    return 0


def _details(approval: ApprovalFields, args: argparse.Namespace) -> list[tuple[str, Any]]:
    asked_by = approval.requested_by
    return [
        ("id", approval.id),
        ("kind", approval.kind),
        ("state", approval.state),
        ("agent", f"{approval.agent.name} ({approval.agent.id})"),
        ("subject", approval.subject),
        ("asked by", f"{asked_by.email} ({asked_by.id})"),
        ("asked", output.when(approval.created_at, args)),
        ("expires", output.when(approval.expires_at, args)),
        ("decided", output.when(approval.decided_at, args)),
        ("decided by", _decider(approval)),
        ("reason", approval.reason),
    ]


def _decide(args: argparse.Namespace, approve: bool) -> int:
    with client(args) as kai:
        decided = kai.decide_approval(args.approval, approve, reason=args.reason).decide_approval
    if args.json:
        output.emit_json(decided)
    else:
        why = f": {decided.reason}" if decided.reason else ""
        print(
            f"approval {decided.id} {decided.state.value.lower()} "
            f"({decided.kind.value.lower()} {what(decided)} on {decided.agent.name}){why}"
        )
    return 0


def approve_approval(args: argparse.Namespace) -> int:
    return _decide(args, True)


def reject_approval(args: argparse.Namespace) -> int:
    return _decide(args, False)


def watch_approvals(args: argparse.Namespace) -> int:
    shown = 0
    with client(args) as kai:
        filter_ = _filter(kai, args)
        kinds = set(filter_.kinds or ())

        def wanted(approval: ApprovalFields) -> bool:
            by_agent = filter_.agent_id is None or approval.agent.id == filter_.agent_id
            return by_agent and (not kinds or approval.kind in kinds)

        with closing(requests(kai, pending=not args.new_only)) as found:
            for approval in found:
                if isinstance(approval, str):
                    print(approval, file=sys.stderr, flush=True)
                    continue
                if not wanted(approval):
                    continue
                _print_request(approval, args)
                shown += 1
                if args.count is not None and shown >= args.count:
                    break
    return 0


def _print_request(approval: ApprovalFields, args: argparse.Namespace) -> None:
    if args.json:
        output.emit_line(approval)
        return
    expires = output.when(approval.expires_at, args)
    sys.stdout.write(
        f"{approval.id}  {approval.kind.value:<7}  {approval.agent.name}  {what(approval)}  "
        f"asked by {approval.requested_by.email}, expires {expires}\n"
    )
    sys.stdout.flush()


# What the reader thread hands over: (shown?, an approval), a word for the person (on
# stderr), the error that ended it, or None when the server ended the subscription.
Found = tuple[bool, ApprovalFields] | str | BaseException | None
FOLLOWING = "following new approvals (Ctrl-C stops)"
CAUGHT_UP = "reconnected: what was asked meanwhile is above"


def requests(kai: CliClient, *, pending: bool) -> Generator[ApprovalFields | str, None, None]:
    """Each PENDING approval once, oldest first: those waiting now (unless not `pending`),
    then each new one as it is asked; and, as a line of text, when it follows them live (or
    again, after a drop). A thread reads the subscription (its reads cannot time out) and
    ends with the process; each time it has subscribed, it lists what waits, so that
    nothing asked before, or while the connection was away, is missed."""
    found: queue.Queue[Found] = queue.Queue()
    threading.Thread(
        target=_read, args=(kai, found, pending), name="kai-approvals", daemon=True
    ).start()
    seen: set[str] = set()
    while True:
        item = found.get()
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, str):
            yield item
            continue
        show, approval = item
        if approval.id in seen:
            continue
        seen.add(approval.id)
        if show:
            yield approval


def _read(kai: CliClient, found: queue.Queue[Found], pending: bool) -> None:
    """The reader thread: subscribes, and again after a drop (a server away before the
    first subscription fails at once); puts (show, approval) pairs and the error that
    ended it, if any, on `found`."""
    reconnects = Reconnects(patience=None)
    subscribed = False

    def waiting() -> None:
        nonlocal subscribed
        # Those waiting when the watch began are shown only when asked for; those listed
        # after a drop were asked meanwhile.
        show = pending or subscribed
        every = list(kai.iter_approvals(ApprovalFilter(states=[PENDING])))
        for approval in reversed(every):
            found.put((show, approval))
        found.put(CAUGHT_UP if subscribed else FOLLOWING)
        subscribed = True

    while True:
        try:
            for approval in kai.approval_requests(on_subscribed=waiting):
                reconnects.progress()
                found.put((True, approval))
            found.put(None)
            return
        except KaiConnectionError as exc:
            if not subscribed:
                found.put(exc)
                return
            time.sleep(reconnects.next_delay(exc))
        except BaseException as exc:  # handed to the reader, raised there
            found.put(exc)
            return
