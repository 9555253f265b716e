"""Watching kAI run: Prometheus metrics, OpenTelemetry traces."""
