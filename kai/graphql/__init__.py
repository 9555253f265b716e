"""The GraphQL edge: how operations arrive and leave (HTTP, WebSockets, Server-Sent Events)."""
