"""Strawberry schema extensions: what runs around every operation (limits, rate limits,
error codes, document caches, audit flushing, metrics and traces), one idea per module."""
