"""Log lines: the request id on each, text in development, one JSON object in production."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from kai import logs


@pytest.fixture
def restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def captured(json_lines: bool) -> tuple[io.StringIO, logging.Logger]:
    logs.configure("INFO", json_lines=json_lines)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return stream, logging.getLogger("kai.test")


@pytest.mark.usefixtures("restore_root_logging")
def test_json_lines_carry_the_request_id_extras_and_exceptions() -> None:
    stream, log = captured(json_lines=True)
    token = logs.request_id_var.set("req-123")
    try:
        log.info("user %s signed in", "ada", extra={"userId": "usr_1"})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        logs.request_id_var.reset(token)

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "user ada signed in"
    assert first["level"] == "INFO"
    assert first["logger"] == "kai.test"
    assert first["requestId"] == "req-123"
    assert first["userId"] == "usr_1"
    assert first["time"].endswith("+00:00")
    assert "ValueError: boom" in second["exception"]


@pytest.mark.usefixtures("restore_root_logging")
def test_text_lines_are_readable() -> None:
    stream, log = captured(json_lines=False)

    log.warning("careful")

    line = stream.getvalue().strip()
    assert line.endswith("WARNING kai.test [-] careful")
