"""Prometheus metrics: one set per process, served at GET /metrics (workers: --metrics-port).

Labels stay bounded whatever clients send: operation names are kept only when
they look like names, and only the first `MAX_OPERATION_NAMES` distinct ones;
the rest count as "other".
"""

from __future__ import annotations

import re
import threading

from prometheus_client import Counter, Gauge, Histogram

MAX_OPERATION_NAMES = 500
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

OPERATIONS = Counter(
    "kai_graphql_operations_total",
    "GraphQL operations run, by operation type and name.",
    ["type", "name"],
)
OPERATION_SECONDS = Histogram(
    "kai_graphql_operation_seconds",
    "How long GraphQL queries and mutations took, by operation type and name.",
    ["type", "name"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
ERRORS = Counter("kai_graphql_errors_total", "GraphQL errors sent, by extensions.code.", ["code"])
HTTP_RESPONSES = Counter(
    "kai_http_responses_total", "HTTP responses, by route and status.", ["route", "status"]
)
WEBSOCKETS = Gauge("kai_websockets_open", "WebSocket connections open now.")
EVENT_STREAMS = Gauge(
    "kai_event_streams_open", "graphql-sse (Server-Sent Events) responses open now."
)
SUBSCRIPTIONS = Gauge("kai_subscriptions_active", "GraphQL subscriptions running now.")
EVENTS_PUBLISHED = Counter(
    "kai_events_published_total", "Messages this process published on the event hub."
)
EVENTS_DELIVERED = Counter(
    "kai_events_delivered_total", "Hub messages handed to this process's subscribers."
)
EVENTS_DROPPED = Counter(
    "kai_events_dropped_total",
    "Hub messages a subscriber could not take (it was too slow and was cut off).",
)
TASKS = Gauge("kai_tasks", "Background tasks by state (all processes), as last counted.", ["state"])
TASKS_DUE = Gauge("kai_tasks_due", "PENDING tasks that are due now: the queue's depth.")
SCHEDULE_RUNS = Counter(
    "kai_schedule_runs_total",
    "Due schedule runs this process claimed, by outcome: started (a task queued) or "
    "refused (a FAILED task says why).",
    ["outcome"],
)
SCHEDULE_CLAIMS_LOST = Counter(
    "kai_schedule_claims_lost_total",
    "Due schedule runs this process tried to claim after another process had, by what "
    "stopped it: the guarded update (moved) or, should that ever let one through, the "
    "unique due time of the task (duplicate).",
    ["by"],
)
WEBHOOK_DELIVERIES = Counter(
    "kai_webhook_deliveries_total",
    "Webhook delivery attempts this process made, by outcome: delivered, retry (to be "
    "tried again), failed (retries used up), gone (the endpoint answered 410).",
    ["outcome"],
)
WEBHOOK_ATTEMPTS = Counter("kai_webhook_attempts_total", "Webhook requests this process sent.")
WEBHOOK_LAG_SECONDS = Histogram(
    "kai_webhook_delivery_lag_seconds",
    "From an event to its webhook delivery (the endpoint's 2xx), retries included.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 86400),
)
UPLOAD_BYTES = Counter("kai_upload_bytes_total", "Bytes of files stored by uploadFile.")
UPLOADS_REFUSED = Counter("kai_uploads_refused_total", "Uploads refused, by error code.", ["code"])
RATE_LIMITED = Counter(
    "kai_rate_limited_total", "Requests refused by a rate limit, by family.", ["family"]
)

_names: set[str] = set()
_names_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """A client-chosen operation name, as a label that cannot blow up the series count."""
    if not name:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "invalid"
    with _names_lock:
        if name in _names:
            return name
        if len(_names) < MAX_OPERATION_NAMES:
            _names.add(name)
            return name
    return "other"
