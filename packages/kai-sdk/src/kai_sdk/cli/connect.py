"""The client a command uses: the server from --url or KAI_URL, the credential from
KAI_API_KEY or what `kai login` stored for that server; and the lookups that let a
person name an agent, a user, an API key, a schedule or a thread instead of giving its
id."""

from __future__ import annotations

import argparse
import os
import re
from datetime import UTC, datetime
from typing import Any

from kai_sdk.cli.exits import CliError, not_found, not_signed_in, usage
from kai_sdk.cli.store import Store, server_key
from kai_sdk.client import KaiClient, Tokens
from kai_sdk.client.sync import AgentFilter, UserFilter

DEFAULT_URL = "http://127.0.0.1:8000"
# An id the server made: a prefix naming what it is, then 32 hex digits (new_id).
ID = re.compile(r"^(agt|usr|key|tsk|fil|sch|thr)_[0-9a-f]{32}$")
USER_AGENT = "kai-cli"


def server_url(args: argparse.Namespace) -> str:
    url = getattr(args, "url", None) or os.environ.get("KAI_URL") or DEFAULT_URL
    url = server_key(url)
    if not url.startswith(("http://", "https://")):
        raise usage(f"--url must start with http:// or https://, not {url!r}")
    return url


class CliClient(KaiClient):
    """KaiClient whose refreshes are shared with other `kai` processes through the
    credentials file: before spending its refresh token, it takes the file's lock and
    reads what is stored; if another process refreshed first (the stored pair is
    newer), it takes that pair instead of spending a token already spent, which would
    end the session."""

    def __init__(self, url: str, *, store: Store, **kwargs: Any) -> None:
        self.store = store
        self.entry_url = url
        super().__init__(url, headers={"user-agent": USER_AGENT}, **kwargs)

    def _refresh(self, stale: Tokens) -> None:
        with self.store.locked():
            entry = self.store.entry(self.entry_url) or {}
            stored = entry.get("tokens")
            if isinstance(stored, dict) and self.tokens is stale:
                newer = Tokens.from_json(stored)
                if newer.refresh_token != stale.refresh_token:
                    self.use_tokens(newer)
                    return
            super()._refresh(stale)


def client(args: argparse.Namespace, *, signed_in: bool = True) -> CliClient:
    """A client for the server of `args`, with the credential to use there (none when
    `signed_in` is False and there is none)."""
    url = server_url(args)
    store = Store()
    env_key = os.environ.get("KAI_API_KEY")
    if env_key:
        return CliClient(url, store=store, api_key=env_key)
    entry = store.entry(url)
    if entry and isinstance(entry.get("apiKey"), str):
        return CliClient(url, store=store, api_key=entry["apiKey"])
    if entry and isinstance(entry.get("tokens"), dict):
        tokens = Tokens.from_json(entry["tokens"])
        return CliClient(url, store=store, tokens=tokens, on_tokens=saver(store, url, entry))
    if signed_in:
        raise not_signed_in(url)
    return CliClient(url, store=store)


def saver(store: Store, url: str, entry: dict[str, Any]) -> Any:
    """`on_tokens` for a session: stores each new pair (under the store's lock), and
    forgets the session when it is gone."""

    def save(tokens: Tokens | None) -> None:
        if tokens is None:
            store.put(url, None)
            return
        entry["tokens"] = tokens.to_json()
        entry["savedAt"] = datetime.now(UTC).isoformat(timespec="seconds")
        store.put(url, entry)

    return save


# --- names for ids ----------------------------------------------------------------------


def agent_id(kai: KaiClient, ref: str) -> str:
    """The id of the agent `ref` names: an id as it is, else the one agent of that name."""
    if ID.match(ref):
        return ref
    # Every page: more than one page of names may contain `ref`.
    found = kai.iter_agents(filter_=AgentFilter(name_contains=ref))
    exact = [agent.id for agent in found if agent.name == ref]
    if not exact:
        raise not_found(f"no agent {ref!r}")
    if len(exact) > 1:
        raise CliError(
            f"{len(exact)} agents are named {ref!r}; give an id: {', '.join(exact)}",
            code="CONFLICT",
        )
    return exact[0]


def user_id(kai: KaiClient, ref: str) -> str:
    """The id of the account `ref` names: an id, or an email address."""
    if ID.match(ref):
        return ref
    found = kai.iter_users(filter_=UserFilter(email_contains=ref))
    exact = [user.id for user in found if user.email.lower() == ref.lower()]
    if not exact:
        raise not_found(f"no user {ref!r}")
    return exact[0]


def api_key_id(kai: KaiClient, ref: str) -> str:
    """The id of the caller's API key `ref` names: an id, or the name of one active key."""
    if ID.match(ref):
        return ref
    named = [key.id for key in kai.iter_api_keys() if key.name == ref]
    if not named:
        raise not_found(f"no active API key named {ref!r}")
    if len(named) > 1:
        raise CliError(
            f"{len(named)} API keys are named {ref!r}; give an id: {', '.join(named)}",
            code="CONFLICT",
        )
    return named[0]


def schedule_id(kai: KaiClient, ref: str) -> str:
    """The id of the schedule `ref` names: an id, or the name of one schedule."""
    if ID.match(ref):
        return ref
    named = [schedule.id for schedule in kai.iter_schedules() if schedule.name == ref]
    if not named:
        raise not_found(f"no schedule {ref!r}")
    if len(named) > 1:
        raise CliError(
            f"{len(named)} schedules are named {ref!r}; give an id: {', '.join(named)}",
            code="CONFLICT",
        )
    return named[0]


def thread_id(kai: KaiClient, ref: str) -> str:
    """The id of the thread `ref` names: an id, or the title of one thread."""
    if ID.match(ref):
        return ref
    titled = [thread.id for thread in kai.iter_threads() if thread.title == ref]
    if not titled:
        raise not_found(f"no thread {ref!r}")
    if len(titled) > 1:
        raise CliError(
            f"{len(titled)} threads are titled {ref!r}; give an id: {', '.join(titled)}",
            code="CONFLICT",
        )
    return titled[0]
