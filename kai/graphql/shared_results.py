"""Results of subscription events shared by their subscribers, and written as JSON once.

kai.graphql.event_projection computes one result per event for all the subscriptions of
the same shape; this module keeps those results for the moments their subscribers take to
read them, and gives the transports one JSON text of each (`shared_message_text`, called
from the view's `encode_json`): the same text for every subscriber, serialized once.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Protocol

# Results kept for sharing: each event is read by all its subscribers within moments, so a
# few thousand entries cover every shape of every event in flight.
SHARED_RESULTS = 4096


class Projecting(Protocol):
    @property
    def shape(self) -> tuple[Any, ...]: ...

    def result(self, event: Any) -> dict[str, Any]: ...


class _SharedResults:
    """Results by (shape, event key), the newest SHARED_RESULTS, each with its JSON text once
    a transport asked for it. An event says what it is by its `shared_key` (an agent event:
    its agent and seq, unique and never changed); one without a key is projected for each
    subscriber."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[Any, Any], dict[str, Any]] = OrderedDict()
        # id(result) -> (result, its text or None): the entry holds the result, so the id
        # cannot be another object's while it is here.
        self._texts: dict[int, tuple[dict[str, Any], str | None]] = {}

    def get(self, projection: Projecting, event: Any) -> dict[str, Any]:
        event_key = getattr(event, "shared_key", None)
        if event_key is None:
            return projection.result(event)
        key = (projection.shape, event_key)
        data = self._entries.get(key)
        if data is None:
            data = projection.result(event)
            self._entries[key] = data
            self._texts[id(data)] = (data, None)
            if len(self._entries) > self._size:
                _, dropped = self._entries.popitem(last=False)
                self._texts.pop(id(dropped), None)
        return data

    def text(self, data: object) -> str | None:
        """The compact JSON of `data` when it is a shared result (written once, then the
        same text for every subscriber); None for anything else."""
        entry = self._texts.get(id(data))
        if entry is None or entry[0] is not data:
            return None
        text = entry[1]
        if text is None:
            text = json.dumps(data, separators=(",", ":"))
            self._texts[id(data)] = (entry[0], text)
        return text


# Stands for the payload while the rest of a message is encoded; json.dumps writes the NUL
# characters as \u0000, so no text of the message can be it, except a client-chosen id:
# the payload is found as the last occurrence (it is the last key of every protocol's
# message, after the id).
_PAYLOAD = "\u0000kai-shared-payload\u0000"
_PAYLOAD_JSON = json.dumps(_PAYLOAD)


def shared_message_text(message: object) -> str | None:
    """A transport's message carrying a shared result as its whole payload, as the compact
    JSON json.dumps would write, with the result's text written once for all subscribers;
    None for any other message (to be encoded as usual)."""
    if not isinstance(message, dict):
        return None
    if len(message) == 1 and "data" in message:  # graphql-sse's `next`: the result itself
        text = SHARED.text(message["data"])
        return None if text is None else f'{{"data":{text}}}'
    payload = message.get("payload")
    if type(payload) is not dict or len(payload) != 1:
        return None
    text = SHARED.text(payload.get("data"))
    if text is None:
        return None
    head, found, tail = json.dumps(
        {**message, "payload": _PAYLOAD}, separators=(",", ":")
    ).rpartition(_PAYLOAD_JSON)
    if not found:
        return None
    return f'{head}{{"data":{text}}}{tail}'


SHARED = _SharedResults(SHARED_RESULTS)
