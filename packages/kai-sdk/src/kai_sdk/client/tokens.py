"""A session's tokens, as the client keeps them (and a program may store them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Tokens:
    """The access token, the refresh token that replaces it, and when the access token
    expires.

    A refresh token works once: each refresh answers a new pair, and presenting a spent
    refresh token revokes the whole session. So a program that stores tokens (the CLI,
    in the user's config folder) must store every new pair: pass `on_tokens` to the
    client, which calls it on each change.
    """

    access_token: str
    refresh_token: str
    expires_at: datetime

    def expires_in(self, now: datetime | None = None) -> float:
        """Seconds until the access token expires (negative once it has)."""
        now = now or datetime.now(UTC)
        expires_at = self.expires_at
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        return (expires_at - now).total_seconds()

    def to_json(self) -> dict[str, str]:
        """A JSON object to store; `Tokens.from_json` reads it back."""
        return {
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "expiresAt": self.expires_at.isoformat(),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Tokens:
        return cls(
            access_token=str(value["accessToken"]),
            refresh_token=str(value["refreshToken"]),
            expires_at=datetime.fromisoformat(str(value["expiresAt"])),
        )

    def __repr__(self) -> str:  # never print a secret by accident
        return f"Tokens(expires_at={self.expires_at.isoformat()!r})"
