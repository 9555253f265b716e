"""Random tokens and their stored digests (A5, A10, K1)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_KEY_PREFIX = "kai_"


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_api_key() -> str:
    # 256 random bits behind a recognisable prefix, so secret scanners find leaks.
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def looks_like_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)
