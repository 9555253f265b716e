"""Webhook signing secrets: made (`whsec_...`, shown once), kept encrypted at rest, and
used to sign each request per the Standard Webhooks spec.

The database holds each secret sealed with AES-GCM under a key derived from the server's
JWT key material (labelled apart from every other use of it): a copy of the database
alone does not let anyone sign requests that receivers would trust.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from standardwebhooks.webhooks import Webhook as Signer

_LABEL = b"kai/webhook-secret/v1\0"
_NONCE_BYTES = 12
SECRET_BYTES = 24


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SecretBox:
    """Seals and opens webhook secrets with one key."""

    def __init__(self, key_material: str):
        key = hmac.new(key_material.encode(), _LABEL, hashlib.sha256).digest()
        self._aead = AESGCM(key)

    def seal(self, secret: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), _LABEL)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str) -> str:
        raw = base64.urlsafe_b64decode(stored.encode())
        return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _LABEL).decode()


def signed_headers(
    *, delivery_id: str, timestamp: datetime, body: bytes, secrets_in_use: list[str]
) -> dict[str, str]:
    """Standard Webhooks' headers: `webhook-id` (the delivery's, the same on every
    attempt), `webhook-timestamp` (seconds), `webhook-signature` (one `v1,...` per secret
    in use, space-separated: during a rotation, the new secret's and the old one's)."""
    signatures = [Signer(secret).sign(delivery_id, timestamp, body) for secret in secrets_in_use]
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }
