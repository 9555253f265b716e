"""Limits on the JSON a client sends as a `JSON` value (agent configuration, command
parameters, prompt options, task payloads, results, log data).

Checked before anything is stored, so that what the API stores it can always serve: a
configuration nested 600 deep was stored, then every list that held it failed to
serialize; NaN and Infinity were stored, then SQLite served invalid JSON and PostgreSQL
refused them. Strings and numbers are bounded by the request body limit; these bound the
shape.
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 32
# Values in one JSON value, keys and items included.
MAX_VALUES = 10_000


class JSONRefused(ValueError):
    """Why a JSON value cannot be taken, in words for the client."""


def check_json(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raises JSONRefused when `value` is deeper than `max_depth`, has more than MAX_VALUES
    values, holds a number that is not finite, or anything that is not JSON."""
    count = 0
    # Iterative, not recursive: a hostile value must not reach the recursion limit here.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        count += 1
        if count > MAX_VALUES:
            raise JSONRefused(f"A JSON value may hold at most {MAX_VALUES} values.")
        if depth > max_depth:
            raise JSONRefused(f"A JSON value may nest at most {max_depth} levels deep.")
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise JSONRefused("JSON object keys are strings.")
                count += 1
                pending.append((child, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise JSONRefused("JSON numbers are finite: NaN and Infinity are not JSON.")
        elif item is not None and not isinstance(item, str | int | bool):
            raise JSONRefused(f"Not a JSON value: {type(item).__name__}.")
