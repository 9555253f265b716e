"""OpenTelemetry traces over OTLP/HTTP when KAI_OTEL_ENDPOINT is set; nothing at all otherwise.

One span per GraphQL operation, named after it, joined to the caller's trace
when the request carries a W3C `traceparent` header.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Status, StatusCode
from strawberry.extensions import SchemaExtension

from kai.config import Settings
from kai.observability.operations import operation_type_of

log = logging.getLogger(__name__)

TRACER_NAME = "kai"


def start_tracing(settings: Settings) -> TracerProvider:
    """A provider exporting to KAI_OTEL_ENDPOINT (an OTLP/HTTP collector, e.g. http://otel:4318)."""
    assert settings.otel_endpoint
    endpoint, service_name = settings.otel_endpoint, settings.otel_service_name
    sample_ratio = settings.otel_sample_ratio
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        # A sampled caller keeps its trace whole; new traces are sampled at the ratio.
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    traces_url = endpoint.rstrip("/")
    if not traces_url.endswith("/v1/traces"):
        traces_url += "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url)))
    log.info("tracing to %s (sampling %.0f%% of new traces)", traces_url, sample_ratio * 100)
    return provider


class TraceOperations(SchemaExtension):
    """A span around each operation, with its name and type and the error codes it sent."""

    tracer: trace.Tracer

    def on_operation(self) -> Iterator[None]:
        request = getattr(self.execution_context.context, "connection", None)
        headers: Any = getattr(request, "headers", None)
        parent = propagate.extract(dict(headers)) if headers is not None else None
        token = otel_context.attach(parent) if parent is not None else None
        try:
            with self.tracer.start_as_current_span("graphql.operation") as span:
                yield
                execution = self.execution_context
                operation_type = operation_type_of(execution)
                kind = operation_type.value if operation_type else "unknown"
                name = execution.operation_name or "anonymous"
                span.update_name(f"{kind} {name}")
                span.set_attribute("graphql.operation.type", kind)
                span.set_attribute("graphql.operation.name", name)
                result = execution.result
                errors = getattr(result, "errors", None) or []
                codes = sorted(
                    {str((error.extensions or {}).get("code", "UNKNOWN")) for error in errors}
                )
                if codes:
                    span.set_attribute("graphql.error.codes", codes)
                    span.set_status(Status(StatusCode.ERROR, ", ".join(codes)))
        finally:
            if token is not None:
                otel_context.detach(token)


def tracing_extension(provider: TracerProvider) -> type[TraceOperations]:
    """The extension class bound to `provider` (Strawberry instantiates it per operation)."""
    tracer = provider.get_tracer(TRACER_NAME)
    return type("TraceOperations", (TraceOperations,), {"tracer": tracer})
