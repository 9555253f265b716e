"""OpenTelemetry traces over OTLP/HTTP when KAI_OTEL_ENDPOINT is set; nothing at all otherwise.

The spans themselves come from kai.graphql.extensions.tracing: one per GraphQL operation.
"""

from __future__ import annotations

import logging

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from kai.config import Settings

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
