"""The commands' arguments: tasks and files."""

from __future__ import annotations

from kai_sdk.cli.define import Commands, json_value, paging, positive

TASK_STATES = ("AWAITING_APPROVAL", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")
AGENT = "the agent: its id, or its name when that names one agent"
SCHEDULE = "the schedule: its id, or its name when that names one schedule"


def add_tasks(commands: Commands) -> None:
    tasks = commands.group("tasks", "list, queue, watch and cancel tasks", "Background tasks.")
    _list_tasks(tasks)

    show = tasks.leaf("show", "a task", "One task, its payload and result.", ("tasks", "show_task"))
    show.add_argument("task", metavar="TASK", help="the task's id")

    enqueue = tasks.leaf(
        "enqueue",
        "queue a task for an agent",
        "Queue background work for an agent; --watch then follows it to its end.",
        ("tasks", "enqueue_task"),
    )
    enqueue.add_argument("agent", metavar="AGENT", help=AGENT)
    enqueue.add_argument("type", metavar="TYPE", help="one of the agent type's task types")
    enqueue.add_argument("--payload", type=json_value, help="given to the handler, JSON")
    enqueue.add_argument("--priority", type=int, help="-1000..1000; higher runs first")
    enqueue.add_argument("--delay", type=float, metavar="SECONDS", help="not before this")
    enqueue.add_argument("--retries", type=int, help="further attempts after a failed one")
    enqueue.add_argument("--timeout", type=float, metavar="SECONDS", help="per attempt")
    enqueue.add_argument("--idempotency-key", help="the same key answers the same task")
    enqueue.add_argument("--watch", action="store_true", help="then follow it as `tasks watch`")

    cancel = tasks.leaf(
        "cancel",
        "cancel a task",
        "A PENDING task never starts; a RUNNING one is interrupted.",
        ("tasks", "cancel_task"),
    )
    cancel.add_argument("task", metavar="TASK", help="the task's id")

    watch = tasks.leaf(
        "watch",
        "follow a task to its end (a progress bar)",
        "Follow a task until it ends: a live progress bar on a terminal, a line per change "
        "otherwise. Exits 0 when it COMPLETED, 1 when it FAILED or was CANCELLED.",
        ("tasks", "watch_task"),
    )
    watch.add_argument("task", metavar="TASK", help="the task's id")


def _list_tasks(tasks: Commands) -> None:
    listed = tasks.leaf(
        "list",
        "list tasks",
        "The tasks of your agents (every task for an ADMIN), newest first unless --sort "
        "says otherwise.",
        ("tasks", "list_tasks"),
    )
    listed.add_argument("--agent", help=AGENT)
    listed.add_argument(
        "--state",
        action="append",
        choices=TASK_STATES,
        metavar="STATE",
        help="only tasks in this state: " + ", ".join(TASK_STATES) + " (repeat)",
    )
    listed.add_argument("--type", action="append", help="only tasks of this type (repeat)")
    listed.add_argument(
        "--schedule", help="only the tasks this schedule started (" + SCHEDULE + ")"
    )
    listed.add_argument(
        "--sort", choices=("created", "priority"), default="created", help="both: highest first"
    )
    listed.add_argument("--reverse", action="store_true", help="the other way round")
    paging(listed)


def add_files(commands: Commands) -> None:
    files = commands.group("files", "upload, download, list and search files", "Your files.")
    upload = files.leaf(
        "upload",
        "upload files (a progress bar)",
        "Upload files; the server sniffs each one's type and virus-scans it.",
        ("files", "upload"),
    )
    upload.add_argument("paths", metavar="PATH", nargs="+", help="a file to upload")
    upload.add_argument("--agent", help="attach them to this agent (" + AGENT + ")")

    download = files.leaf(
        "download",
        "download a file (a progress bar)",
        "Download a file, checked against its size and SHA-256.",
        ("files", "download"),
    )
    download.add_argument("file", metavar="FILE", help="the file's id")
    download.add_argument(
        "--output", "-o", help="where to write it; - for stdout (default: its name, here)"
    )
    download.add_argument("--force", action="store_true", help="replace an existing file")

    listed = files.leaf(
        "list",
        "list files",
        "Your files (everyone's for an ADMIN), newest first.",
        ("files", "list_files"),
    )
    listed.add_argument("--agent", help=AGENT)
    listed.add_argument("--name", help="only names containing this (any case)")
    listed.add_argument("--type", action="append", help="only this sniffed type (repeat)")
    listed.add_argument(
        "--sort",
        choices=("uploaded", "name", "size"),
        default="uploaded",
        help="uploaded: newest first; size: largest first",
    )
    listed.add_argument("--reverse", action="store_true", help="the other way round")
    paging(listed)

    search = files.leaf(
        "search",
        "search your files' text",
        "Passages of your files, matched by meaning.",
        ("files", "search"),
    )
    search.add_argument("query", metavar="QUERY", help="what to look for")
    search.add_argument("--agent", help="only this agent's files (" + AGENT + ")")
    search.add_argument("--limit", type=positive, default=10, help="most hits, 1 to 50")

    delete = files.leaf("delete", "delete a file", "Delete a file.", ("files", "delete"))
    delete.add_argument("file", metavar="FILE", help="the file's id")
