"""`kai users list|role|disable|enable` and `kai audit` (ADMIN)."""

from __future__ import annotations

import argparse

from kai_sdk.cli import output, pages
from kai_sdk.cli.connect import client, user_id
from kai_sdk.cli.output import Column
from kai_sdk.client.sync import Role, UserFilter
from kai_sdk.client.sync.fragments import AuditEntryFields, UserFields


def columns(args: argparse.Namespace) -> list[Column]:
    return [
        Column("ID", lambda u: u.id),
        Column("EMAIL", lambda u: u.email, shrink=True),
        Column("NAME", lambda u: u.display_name, shrink=True, optional=True),
        Column("ROLE", lambda u: u.role),
        Column("ACTIVE", lambda u: u.active),
        Column("CREATED", lambda u: output.when(u.created_at, args)),
    ]


def list_users(args: argparse.Namespace) -> int:
    active = True if args.active else (False if args.disabled else None)
    filter_ = UserFilter(
        roles=[Role(role) for role in args.role] if args.role else None,
        active=active,
        email_contains=args.email,
    )
    with client(args) as kai:
        users: list[UserFields] = pages.nodes(
            args,
            lambda first, after: (
                kai.users(filter_=filter_, first=first, after=after, with_total=True).users
            ),
            lambda: kai.iter_users(filter_),
        )
    if args.json:
        output.emit_json(users)
    else:
        output.table(users, columns(args))
    return 0


def _print_user(user: UserFields, args: argparse.Namespace) -> None:
    if args.json:
        output.emit_json(user)
    else:
        state = "active" if user.active else "disabled"
        print(f"{user.email} ({user.id}): {user.role.value}, {state}")


def set_role(args: argparse.Namespace) -> int:
    with client(args) as kai:
        user = kai.set_user_role(user_id(kai, args.user), Role(args.role)).set_user_role
    _print_user(user, args)
    return 0


def disable_user(args: argparse.Namespace) -> int:
    with client(args) as kai:
        user = kai.set_user_active(user_id(kai, args.user), False).set_user_active
    _print_user(user, args)
    return 0


def enable_user(args: argparse.Namespace) -> int:
    with client(args) as kai:
        user = kai.set_user_active(user_id(kai, args.user), True).set_user_active
    _print_user(user, args)
    return 0


def audit(args: argparse.Namespace) -> int:
    granted = True if args.granted else (False if args.denied else None)
    with client(args) as kai:
        who = user_id(kai, args.user) if args.user else None
        entries: list[AuditEntryFields] = pages.nodes(
            args,
            lambda first, after: (
                kai.audit_log(
                    user_id=who, action=args.action, granted=granted, first=first, after=after
                ).audit_log
            ),
            lambda: kai.iter_audit_log(user_id=who, action=args.action, granted=granted),
        )
    if args.json:
        output.emit_json(entries)
        return 0
    output.table(
        entries,
        [
            Column("WHEN", lambda e: output.when(e.timestamp, args)),
            Column("USER", lambda e: e.user.email if e.user else None, shrink=True),
            Column("ACTION", lambda e: e.action),
            Column("RESOURCE", lambda e: e.resource, shrink=True, optional=True),
            Column("GRANTED", lambda e: e.granted),
            Column("REQUEST", lambda e: e.request_id, shrink=True, optional=True),
        ],
    )
    return 0
