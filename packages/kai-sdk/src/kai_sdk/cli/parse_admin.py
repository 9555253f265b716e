"""The commands' arguments: API keys, accounts and the audit log."""

from __future__ import annotations

from kai_sdk.cli.define import Commands, paging, positive

USER = "the account: its id or its email address"
ROLES = ("USER", "DEVELOPER", "ADMIN")


def add_keys(commands: Commands) -> None:
    keys = commands.group("keys", "your API keys", "Your API keys.")
    listed = keys.leaf("list", "list your API keys", "Your API keys.", ("account", "list_keys"))
    listed.add_argument("--revoked", action="store_true", help="revoked and expired ones too")
    paging(listed)

    create = keys.leaf(
        "create",
        "create an API key (its secret shown once)",
        "Create an API key; it can only narrow your own rights. The secret is printed once.",
        ("account", "create_key"),
    )
    create.add_argument("name", metavar="NAME", help="what the key is for")
    create.add_argument(
        "--permission",
        action="append",
        help="e.g. agent.read or agent.* (repeat; default: all of yours)",
    )
    create.add_argument("--agent", action="append", help="limit it to this agent (repeat)")
    create.add_argument("--days", type=positive, help="expires in this many days")

    revoke = keys.leaf(
        "revoke",
        "revoke an API key",
        "Revoke an API key: it stops working at once.",
        ("account", "revoke_key"),
    )
    revoke.add_argument("key", metavar="KEY", help="the key's id, or its name")


def add_users(commands: Commands) -> None:
    users = commands.group("users", "accounts (ADMIN)", "Accounts; ADMIN only.")
    listed = users.leaf("list", "list accounts", "Accounts.", ("admin", "list_users"))
    listed.add_argument(
        "--role",
        action="append",
        choices=ROLES,
        metavar="ROLE",
        help="USER, DEVELOPER or ADMIN (repeat)",
    )
    active = listed.add_mutually_exclusive_group()
    active.add_argument("--active", action="store_true", help="only enabled accounts")
    active.add_argument("--disabled", action="store_true", help="only disabled accounts")
    listed.add_argument("--email", help="only addresses containing this (any case)")
    paging(listed)

    role = users.leaf(
        "role", "set an account's role", "Set an account's role.", ("admin", "set_role")
    )
    role.add_argument("user", metavar="USER", help=USER)
    role.add_argument("role", metavar="ROLE", choices=ROLES, help="USER, DEVELOPER or ADMIN")

    disable = users.leaf(
        "disable",
        "disable an account",
        "Disable an account: its sessions and API keys stop working at once.",
        ("admin", "disable_user"),
    )
    disable.add_argument("user", metavar="USER", help=USER)
    enable = users.leaf(
        "enable",
        "enable an account again",
        "Enable an account again (its old sessions and keys stay revoked).",
        ("admin", "enable_user"),
    )
    enable.add_argument("user", metavar="USER", help=USER)


def add_audit(commands: Commands) -> None:
    audit = commands.leaf(
        "audit",
        "the audit log (ADMIN)",
        "Who was granted or refused what, newest first; ADMIN only.",
        ("admin", "audit"),
    )
    audit.add_argument("--user", help=USER)
    audit.add_argument("--action", help="only this action, e.g. agent.delete")
    granted = audit.add_mutually_exclusive_group()
    granted.add_argument("--granted", action="store_true", help="only granted requests")
    granted.add_argument("--denied", action="store_true", help="only refused requests")
    paging(audit)
