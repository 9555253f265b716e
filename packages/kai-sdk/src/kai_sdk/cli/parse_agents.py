"""The commands' arguments: signing in, agents, commands, prompts and events."""

from __future__ import annotations

import argparse

from kai_sdk.cli.define import Commands, json_object, paging, positive

AGENT = "the agent: its id, or its name when that names one agent"
STATES = ("STARTING", "RUNNING", "STOPPED", "ERROR")


def add_session(commands: Commands) -> None:
    login = commands.leaf(
        "login",
        "sign in to a server and keep the session",
        "Sign in with your email and password (asked for without echo; read from stdin "
        "when it is not a terminal), or with an API key (--api-key). The session is kept "
        "in your config folder ($XDG_CONFIG_HOME/kai/credentials.json, mode 0600), one "
        "per server; its tokens are refreshed as they expire.",
        ("account", "login"),
    )
    login.add_argument("--email", help="your sign-in address (asked for when left out)")
    login.add_argument(
        "--api-key",
        action="store_true",
        help="sign in with an API key instead (asked for, or read from stdin)",
    )
    commands.leaf(
        "logout",
        "end the session and forget it",
        "End the stored session on the server and forget it here (an API key is only "
        "forgotten: revoke it with `kai keys revoke`).",
        ("account", "logout"),
    )
    commands.leaf(
        "whoami",
        "who you are signed in as",
        "The account the stored credential (or KAI_API_KEY) signs in as.",
        ("account", "whoami"),
    )


def add_agents(commands: Commands) -> None:
    agents = commands.group("agents", "list, create and manage agents", "Your agents.")
    _add_list(agents)
    show = agents.leaf(
        "show", "an agent, its health and metrics", "One agent.", ("agents", "show_agent")
    )
    show.add_argument("agent", metavar="AGENT", help=AGENT)

    create = agents.leaf(
        "create",
        "create an agent",
        "Create an agent (see its type's configSchema).",
        ("agents", "create_agent"),
    )
    create.add_argument("name", metavar="NAME", help="1 to 100 characters")
    create.add_argument("--type", required=True, help="an agent type, e.g. echo")
    _agent_options(create)

    update = agents.leaf(
        "update",
        "change an agent",
        "Change an agent; what is left out stays as it is.",
        ("agents", "update_agent"),
    )
    update.add_argument("agent", metavar="AGENT", help=AGENT)
    update.add_argument("--name", help="a new name")
    _agent_options(update)

    for name, summary in (("restart", "restart an agent"), ("stop", "stop an agent")):
        verb = agents.leaf(name, summary, summary.capitalize() + ".", ("agents", f"{name}_agent"))
        verb.add_argument("agent", metavar="AGENT", help=AGENT)
    delete = agents.leaf(
        "delete",
        "delete an agent, its logs, events and files",
        "Stop the agent, cancel its pending tasks, delete its logs, events and files.",
        ("agents", "delete_agent"),
    )
    delete.add_argument("agent", metavar="AGENT", help=AGENT)
    delete.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")


def _add_list(agents: Commands) -> None:
    listed = agents.leaf(
        "list",
        "list agents",
        "Your agents (every agent for an ADMIN), newest first unless --sort says otherwise.",
        ("agents", "list_agents"),
    )
    listed.add_argument(
        "--state",
        action="append",
        choices=STATES,
        metavar="STATE",
        help="only agents in this state: " + ", ".join(STATES) + " (repeat)",
    )
    listed.add_argument("--type", action="append", help="only agents of this type (repeat)")
    listed.add_argument("--name", help="only names containing this (any case)")
    listed.add_argument("--capability", help="only agents that list this capability")
    listed.add_argument("--owner", help="ADMIN: only this user's agents (id or email)")
    listed.add_argument(
        "--sort", choices=("created", "name"), default="created", help="created: newest first"
    )
    listed.add_argument("--reverse", action="store_true", help="the other way round")
    paging(listed)


def _agent_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--capability", action="append", help="a tag (repeat; replaces all)")
    parser.add_argument("--config", type=json_object, help="its configuration, a JSON object")
    parser.add_argument("--memory", help="memory to ask for, e.g. 512Mi")
    parser.add_argument("--cpu", help="CPU to ask for, e.g. 0.5 or 500m")
    parser.add_argument("--storage", help="storage to ask for, e.g. 1Gi")
    parser.add_argument(
        "--gpu", action=argparse.BooleanOptionalAction, help="whether it asks for a GPU"
    )
    policy = parser.add_argument_group(
        "approval policy",
        "What waits for a person's approval (docs/approvals.md). A part left out stays as "
        "it is (on create: nothing waits, approvals expire after 3600 s).",
    )
    policy.add_argument(
        "--approval-commands",
        type=names,
        metavar="NAMES",
        help="commands that wait, comma-separated; '*' for every one, '' for none",
    )
    policy.add_argument(
        "--approval-task-types",
        type=names,
        metavar="TYPES",
        help="task types that wait (a schedule's runs too), comma-separated; '*', ''",
    )
    policy.add_argument(
        "--approval-timeout",
        type=float,
        metavar="SECONDS",
        help="how long an approval stays open, 1 to 604800; then its work is refused",
    )


def names(text: str) -> list[str]:
    """`deploy, rollback` as ["deploy", "rollback"]; '' as none."""
    return list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))


def add_live(commands: Commands) -> None:
    send = commands.leaf(
        "send",
        "run a command on an agent",
        "Run a command on a RUNNING agent and print its result.",
        ("live", "send"),
    )
    send.add_argument("agent", metavar="AGENT", help=AGENT)
    send.add_argument("command", metavar="COMMAND", help="the command's name")
    send.add_argument("--params", type=json_object, default={}, help="a JSON object")
    send.add_argument("--idempotency-key", help="the same key answers the first result again")

    prompt = commands.leaf(
        "prompt",
        "ask an agent, its answer streamed",
        "Send a prompt to a RUNNING agent and print its answer as it comes.",
        ("live", "prompt"),
    )
    prompt.add_argument("agent", metavar="AGENT", help=AGENT)
    prompt.add_argument("text", metavar="TEXT", help="the prompt; - reads it from stdin")

    events = commands.leaf(
        "events",
        "an agent's events (--follow: live)",
        "The agent's stored events after --after, then, with --follow, each new one as it "
        "happens; a dropped connection is resumed from the last event seen.",
        ("live", "events"),
    )
    events.add_argument("agent", metavar="AGENT", help=AGENT)
    events.add_argument(
        "--after",
        type=int,
        metavar="SEQ",
        help="the last seq already seen (default: 0, or with --follow only new events)",
    )
    events.add_argument("--follow", "-f", action="store_true", help="keep following")
    events.add_argument("--type", action="append", help="only events of this type (repeat)")
    events.add_argument("--count", type=positive, help="stop after this many events")
    events.add_argument(
        "--wait",
        type=float,
        default=2.0,
        help="without --follow: stop once none came for this long",
    )
