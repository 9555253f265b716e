"""`kai login`, `logout`, `whoami` and `kai keys`."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from kai_sdk.cli import output, pages
from kai_sdk.cli.connect import USER_AGENT, CliClient, agent_id, api_key_id, client, server_url
from kai_sdk.cli.exits import CliError, not_signed_in, usage
from kai_sdk.cli.output import Column
from kai_sdk.cli.store import Store
from kai_sdk.client import KaiClient, KaiClientError, Tokens, UnauthenticatedError
from kai_sdk.client.sync import ApiKeyInput
from kai_sdk.client.sync.fragments import ApiKeyFields, UserFields


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _ask(prompt: str, *, secret: bool) -> str:
    """An answer from the person at the terminal (a secret without echo), or the next
    line of stdin when it is not a terminal."""
    if sys.stdin.isatty():
        if secret:
            import getpass

            answer = getpass.getpass(prompt)
        else:
            sys.stderr.write(prompt)
            sys.stderr.flush()
            answer = sys.stdin.readline()
    else:
        if not secret:
            raise usage(f"no terminal to ask for {prompt.strip(': ').lower()}: pass it")
        answer = sys.stdin.readline()
    answer = answer.rstrip("\r\n")
    if not answer:
        raise usage(f"no {prompt.strip(': ').lower()} given")
    return answer


def login(args: argparse.Namespace) -> int:
    url = server_url(args)
    store = Store()
    previous = store.entry(url)
    if args.api_key:
        key = _ask("API key: ", secret=True)
        with CliClient(url, store=store, api_key=key) as kai:
            user = kai.me().me
        if user is None:
            raise CliError("the server does not take this API key", code="UNAUTHENTICATED")
        entry: dict[str, Any] = {"kind": "apiKey", "apiKey": key}
    else:
        email = args.email or _ask("Email: ", secret=False)
        password = _ask("Password: ", secret=True)
        with CliClient(url, store=store) as kai:
            user = kai.sign_in(email, password)
            tokens = kai.tokens
        assert tokens is not None
        entry = {"kind": "session", "tokens": tokens.to_json()}
    store.put(url, entry | {"email": user.email, "savedAt": _now()})
    _end_session(url, previous)
    if args.json:
        output.emit_json({"url": url, "credential": entry["kind"], "user": user})
    else:
        print(f"signed in to {url} as {user.email} ({user.role.value})")
    return 0


def _end_session(url: str, entry: dict[str, Any] | None) -> str | None:
    """Ends a stored session on the server; answers why it could not (None: ended, or
    nothing to end). A session that already ended is fine."""
    if not entry or not isinstance(entry.get("tokens"), dict):
        return None
    try:
        tokens = Tokens.from_json(entry["tokens"])
        with KaiClient(url, tokens=tokens, headers={"user-agent": USER_AGENT}) as old:
            old.sign_out()
    except UnauthenticatedError:
        return None
    except (KaiClientError, ValueError, KeyError) as exc:
        return str(exc) or type(exc).__name__
    return None


def logout(args: argparse.Namespace) -> int:
    url = server_url(args)
    store = Store()
    entry = store.entry(url)
    if entry is None:
        print(f"kai: not signed in to {url}; nothing to forget", file=sys.stderr)
        return 0
    kind = "an API key" if "apiKey" in entry else "a session"
    with store.locked():
        # Under the lock: another process's refresh cannot slip in between.
        problem = _end_session(url, store.entry(url))
        store.put(url, None)
    if problem:
        print(f"kai: warning: the session may still work on the server: {problem}", file=sys.stderr)
    if not args.json:
        print(f"signed out of {url} ({kind} forgotten)")
        if kind == "an API key":
            print("the key still works until revoked: kai keys revoke KEY", file=sys.stderr)
    else:
        output.emit_json({"url": url, "signedOut": True})
    return 0


def whoami(args: argparse.Namespace) -> int:
    url = server_url(args)
    with client(args) as kai:
        user = kai.me().me
        if user is None:
            raise not_signed_in(url)
        session = kai.session().session if kai.tokens is not None else None
    if os.environ.get("KAI_API_KEY"):
        credential = "apiKey (KAI_API_KEY)"
    else:
        credential = "session" if session is not None else "apiKey"
    if args.json:
        output.emit_json({"url": url, "credential": credential, "user": user, "session": session})
        return 0
    lines = _who(user, url, credential, args)
    if session is not None:
        lines.append(("session ends", output.when(session.expires_at, args)))
    output.details(lines)
    return 0


def _who(user: UserFields, url: str, credential: str, args: argparse.Namespace) -> list[Any]:
    return [
        ("server", url),
        ("email", user.email),
        ("name", user.display_name),
        ("role", user.role),
        ("id", user.id),
        ("since", output.when(user.created_at, args)),
        ("credential", credential),
    ]


# --- API keys -----------------------------------------------------------------------------


def _key_columns(args: argparse.Namespace) -> list[Column]:
    return [
        Column("ID", lambda k: k.id),
        Column("NAME", lambda k: k.name, shrink=True),
        Column("PREFIX", lambda k: k.prefix, optional=True),
        Column("PERMISSIONS", lambda k: k.permissions, shrink=True, optional=True),
        Column("AGENTS", lambda k: k.agent_ids or "all", shrink=True, optional=True),
        Column("CREATED", lambda k: output.when(k.created_at, args)),
        Column("EXPIRES", lambda k: output.when(k.expires_at, args)),
        Column("LAST USED", lambda k: output.when(k.last_used_at, args), optional=True),
        Column("ACTIVE", lambda k: k.active),
    ]


def list_keys(args: argparse.Namespace) -> int:
    with client(args) as kai:
        keys: list[ApiKeyFields] = pages.nodes(
            args,
            lambda first, after: (
                kai.api_keys(
                    include_revoked=args.revoked, first=first, after=after, with_total=True
                ).api_keys
            ),
            lambda: kai.iter_api_keys(include_revoked=args.revoked),
        )
    if args.json:
        output.emit_json(keys)
    else:
        output.table(keys, _key_columns(args))
    return 0


def create_key(args: argparse.Namespace) -> int:
    with client(args) as kai:
        agents = [agent_id(kai, ref) for ref in args.agent] if args.agent else None
        expires = datetime.now(UTC) + timedelta(days=args.days) if args.days else None
        created = kai.create_api_key(
            ApiKeyInput(
                name=args.name, permissions=args.permission, agent_ids=agents, expires_at=expires
            )
        ).create_api_key
    if args.json:
        output.emit_json(created)
        return 0
    key = created.api_key
    print(f"API key {key.id} ({key.name}) created, expires {output.when(key.expires_at, args)}")
    print("its secret, shown this once:", file=sys.stderr)
    print(created.secret)
    return 0


def revoke_key(args: argparse.Namespace) -> int:
    with client(args) as kai:
        key = kai.revoke_api_key(api_key_id(kai, args.key)).revoke_api_key
    if args.json:
        output.emit_json(key)
    else:
        print(f"API key {key.id} ({key.name}) revoked")
    return 0
