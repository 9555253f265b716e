"""Whether an HTTP client asked for its answer as a stream of Server-Sent Events, and
whether what it streams is a subscription."""

from __future__ import annotations

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from strawberry.http import GraphQLRequestData

# What a client may list to get one JSON answer rather than a stream.
JSON_MEDIA_TYPES = frozenset({"application/graphql-response+json", "application/json"})
EVENT_STREAM = "text/event-stream"


def prefers_event_stream(accept: str) -> bool:
    """Whether `accept` ranks text/event-stream above every JSON type (by q, then by
    order of listing). urql lists JSON first and text/event-stream after it on every
    query and mutation: it must get JSON; a graphql-sse client lists only the stream."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        if media not in JSON_MEDIA_TYPES and media != EVENT_STREAM:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        key = (-quality, position, media)
        if best is None or key < best:
            best = key
    return best is not None and best[2] == EVENT_STREAM


def is_subscription(
    request_data: GraphQLRequestData | list[GraphQLRequestData], max_tokens: int
) -> bool:
    """Whether a streamed request is a subscription (unbounded by the request timeout).
    A document that does not parse, or is over the token limit (G3: not worth parsing
    whole here), is not: Strawberry answers it with its error."""
    if isinstance(request_data, list) or not isinstance(request_data.query, str):
        return False
    try:
        document = parse(request_data.query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, request_data.operation_name)
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION
