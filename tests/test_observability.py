"""Watching kAI run: /metrics moving as things happen, /readyz naming what failed, traces
reaching an OTLP collector, JSON logs, and a graceful stop that sends sockets elsewhere."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kai.app import create_app
from kai.config import Settings
from kai.observability.metrics import MAX_OPERATION_NAMES, operation_label
from tests.support.agents import create_echo, signed_in
from tests.support.apps import client_at, running_app
from tests.support.graphql_client import GraphQLClient
from tests.support.s3_server import S3Server
from tests.support.servers import clean_env, free_port, kai_serve, serve_app
from tests.support.settings import make_settings
from tests.support.uploads import upload
from tests.support.ws_client import TRANSPORT_WS, ws_connect

ME = "query Me { me { id } }"
BAD_LOGIN = """
mutation BadLogin { login(input: {email: "nobody@example.com", password: "wrong password!"}) {
  accessToken } }
"""


def sample(text: str, metric: str, **labels: str) -> float:
    """One sample's value in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(metric + ("{" if labels else " ")):
            continue
        if labels:
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if any(found.get(k) != v for k, v in labels.items()):
                continue
        return float(line.rsplit(" ", 1)[1])
    return 0.0


async def scrape(client: GraphQLClient) -> str:
    response = await client.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_move_as_requests_come(client: GraphQLClient) -> None:
    token = await signed_in(client)
    before = await scrape(client)

    (await client.execute(ME, token=token)).ok()
    refused = await client.execute(BAD_LOGIN)
    await upload(client, token, b"hello metrics\n")
    after = await scrape(client)

    assert refused.codes == ["UNAUTHENTICATED"]
    name = "kai_graphql_operations_total"
    assert (
        sample(after, name, type="query", name="Me")
        == sample(before, name, type="query", name="Me") + 1
    )
    errors = "kai_graphql_errors_total"
    assert (
        sample(after, errors, code="UNAUTHENTICATED")
        == sample(before, errors, code="UNAUTHENTICATED") + 1
    )
    count = "kai_graphql_operation_seconds_count"
    assert sample(after, count, type="query", name="Me") > sample(
        before, count, type="query", name="Me"
    )
    uploaded = "kai_upload_bytes_total"
    assert sample(after, uploaded) == sample(before, uploaded) + len(b"hello metrics\n")
    http = "kai_http_responses_total"
    assert sample(after, http, route="/graphql", status="200") > sample(
        before, http, route="/graphql", status="200"
    )


async def metrics_when(
    http: httpx.AsyncClient, check: Callable[[str], bool], within: float = 10.0
) -> str:
    """/metrics once `check` holds of it (or as it is after `within` seconds)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        text = (await http.get("/metrics")).text
        if check(text) or asyncio.get_running_loop().time() > deadline:
            return text
        await asyncio.sleep(0.05)


async def test_metrics_count_tasks_sockets_and_subscriptions(settings: Settings) -> None:
    async with (
        serve_app(create_app(settings)) as base_url,
        httpx.AsyncClient(base_url=base_url) as http,
    ):
        client = GraphQLClient(http)
        token = await signed_in(client)
        agent = await create_echo(client, token)
        async with ws_connect(base_url, TRANSPORT_WS, token=token) as socket:
            await socket.subscribe(
                "subscription E($id: ID!) { agentEvents(agentId: $id) { seq } }",
                {"id": agent["id"]},
            )
            # The server starts the subscription (and ends it below) on its own time, and
            # counts tasks in a loop of its own.
            during = await metrics_when(
                http,
                lambda text: (
                    sample(text, "kai_subscriptions_active") >= 1
                    and 'kai_tasks{state="PENDING"}' in text
                ),
            )
        after = await metrics_when(
            http,
            lambda text: all(
                sample(text, gauge) < sample(during, gauge)
                for gauge in ("kai_websockets_open", "kai_subscriptions_active")
            ),
        )

    assert sample(during, "kai_websockets_open") >= 1
    assert sample(during, "kai_subscriptions_active") >= 1
    assert sample(after, "kai_subscriptions_active") == (
        sample(during, "kai_subscriptions_active") - 1
    )
    assert sample(after, "kai_websockets_open") == sample(during, "kai_websockets_open") - 1

    assert 'kai_tasks{state="PENDING"}' in during


def test_operation_names_cannot_grow_the_label_set() -> None:
    assert operation_label(None) == "anonymous"
    assert operation_label("Robert'); DROP") == "invalid"
    assert operation_label("x" * 65) == "invalid"
    labels = {operation_label(f"Op{i}") for i in range(MAX_OPERATION_NAMES + 100)}
    assert "other" in labels
    assert len(labels) <= MAX_OPERATION_NAMES + 1


async def test_readyz_names_each_failed_service(
    database_url: str, tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = make_settings(
        database_url,
        tmp_path / "data",
        clamd_url=f"tcp://127.0.0.1:{free_port()}",  # nobody listens there
        s3_bucket="kai-no-such-bucket",
        s3_endpoint_url=s3_server.endpoint_url,
        s3_region="us-east-1",
    )
    async with running_app(settings) as app, client_at(app) as client:
        response = await client.http.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["clamd"].startswith("unreachable")
    assert body["checks"]["s3"].startswith("unreachable")


async def test_readyz_checks_every_configured_service(
    database_url: str,
    tmp_path: Path,
    s3_server: S3Server,
    clamd_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.support.redis_server import redis_url_or_skip

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = make_settings(
        database_url,
        tmp_path / "data",
        clamd_url=clamd_url,
        s3_bucket=await s3_server.create_bucket(),
        s3_endpoint_url=s3_server.endpoint_url,
        s3_region="us-east-1",
        broadcast_url=redis_url_or_skip(),
    )
    async with running_app(settings) as app, client_at(app) as client:
        response = await client.http.get("/readyz")

    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {
        "database": "ok",
        "redis": "ok",
        "s3": "ok",
        "clamd": "ok",
    }


class Collector:
    """An OTLP/HTTP trace collector: keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Any] = []

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/traces", self._export, methods=["POST"])])

    async def _export(self, request: Request) -> Response:
        export = ExportTraceServiceRequest.FromString(await request.body())
        for resource_spans in export.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(scope_spans.spans)
        return Response(b"", media_type="application/x-protobuf")


@pytest.mark.slow
async def test_traces_reach_the_collector_with_the_operation_name(
    database_url: str, tmp_path: Path
) -> None:
    collector = Collector()
    async with serve_app(collector.app()) as collector_url:
        settings = make_settings(
            database_url, tmp_path / "data", otel_endpoint=collector_url, otel_sample_ratio=1.0
        )
        parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        async with running_app(settings) as app, client_at(app) as client:
            token = await signed_in(client)
            await client.execute(ME, token=token, headers={"traceparent": parent})
        # Stopping the app flushed the spans.

    by_name = {span.name: span for span in collector.spans}
    span = by_name["query Me"]
    attributes = {a.key: a.value.string_value for a in span.attributes}
    assert attributes["graphql.operation.name"] == "Me"
    assert attributes["graphql.operation.type"] == "query"
    assert span.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"  # joined the caller's trace
    assert "mutation Register" in by_name


async def test_no_tracing_without_an_endpoint(client: GraphQLClient, app: Any) -> None:
    extensions = app.state.graphql.schema.extensions
    assert not any("Trace" in getattr(e, "__name__", "") for e in extensions)


@pytest.fixture
async def served_kai(tmp_path: Path) -> AsyncIterator[tuple[str, Any]]:
    env = clean_env(
        KAI_DATA_DIR=str(tmp_path / "data"),
        KAI_JWT_SECRET="s" * 48,
        KAI_QDRANT_URL=":memory:",
        KAI_SHUTDOWN_GRACE_SECONDS="10",
    )
    with kai_serve(env, read_output=True) as (url, process):
        yield url, process


@pytest.mark.slow
async def test_sigterm_closes_sockets_with_1001_and_finishes_requests(
    served_kai: tuple[str, Any],
) -> None:
    url, process = served_kai
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        client = GraphQLClient(http)
        token = await signed_in(client)
        # Every command of this agent takes three seconds: one will be in flight at SIGTERM
        # (sent a second before it, time enough to reach the server on a busy machine).
        agent = await create_echo(client, token, configuration={"delaySeconds": 3.0})
        async with ws_connect(url, TRANSPORT_WS, token=token) as socket:
            await socket.subscribe(
                "subscription E($id: ID!) { agentEvents(agentId: $id) { seq } }",
                {"id": agent["id"]},
            )
            slow = asyncio.create_task(
                client.execute(
                    "mutation C($id: ID!) { sendCommand(agentId: $id, command: "
                    '{command: "hello"}) { success } }',
                    {"id": agent["id"]},
                    token=token,
                )
            )
            await asyncio.sleep(1.0)
            process.send_signal(signal.SIGTERM)
            code, _ = await socket.closed(timeout=5)
            answered = await slow

    assert code == 1001
    assert answered.ok()["sendCommand"]["success"] is True
    await asyncio.to_thread(process.wait, 15)
    # uvicorn re-raises the signal once it has shut down cleanly.
    assert process.returncode in (0, -signal.SIGTERM)
    output = process.stdout.read()
    assert "closed 1 WebSockets (1001)" in output
    assert "Application shutdown complete" in output
