"""JWT access and refresh tokens (docs/security.md S1-S7).

The algorithm is pinned by the settings; the header is never consulted to pick
a key (`kid`, `jku`, `x5u`, `jwk` are ignored), so `none`, other algorithms and
key confusion fail verification.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from kai.config import Settings
from kai.errors import Unauthenticated


class TokenType(enum.StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "sid", "typ", "jti"]


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    session_id: str
    jti: str


class TokenService:
    def __init__(self, settings: Settings):
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.leeway = settings.jwt_leeway_seconds
        self._signing_key, self._verifying_key = settings.signing_keys()

    def issue(
        self,
        *,
        token_type: TokenType,
        user_id: str,
        session_id: str,
        now: datetime,
        expires_at: datetime,
        jti: str | None = None,
    ) -> str:
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "sid": session_id,
            "typ": token_type.value,
            "jti": jti or uuid.uuid4().hex,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(claims, self._signing_key, algorithm=self.algorithm)

    def verify(self, token: str, *, token_type: TokenType) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=timedelta(seconds=self.leeway),
                options={"require": REQUIRED_CLAIMS, "verify_iat": True},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated() from exc
        # A refresh token is never an access token, nor the reverse (S5).
        if claims.get("typ") != token_type.value:
            raise Unauthenticated()
        for name in ("sub", "sid", "jti"):
            if not isinstance(claims.get(name), str):
                raise Unauthenticated()
        return TokenClaims(
            user_id=claims["sub"],
            session_id=claims["sid"],
            jti=claims["jti"],
        )
