"""One span per GraphQL operation, named after it, joined to the caller's trace when the
request carries a W3C `traceparent` header (the provider: kai.observability.tracing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode
from strawberry.extensions import SchemaExtension

from kai.graphql.extensions.observe_operations import operation_type_of
from kai.observability.tracing import TRACER_NAME


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
