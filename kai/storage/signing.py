"""Signed, expiring download URLs for `GET /files/{id}` (F7).

The signature is an HMAC over the file id and the expiry, with a key derived
from the server's JWT key material, so every replica that verifies tokens also
verifies URLs, and a URL is good for one file until its expiry only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlencode

_LABEL = b"kai/file-download-url/v1\0"


class DownloadSigner:
    def __init__(self, key_material: str, *, public_url: str, ttl_seconds: int):
        # A label keeps this key apart from the JWT key it is derived from.
        self._key = hashlib.sha256(_LABEL + key_material.encode()).digest()
        self._base = public_url.rstrip("/")
        self.ttl_seconds = ttl_seconds

    def _signature(self, file_id: str, expires: int) -> str:
        mac = hmac.new(self._key, f"{file_id}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def url(self, file_id: str, *, now: float | None = None) -> str:
        expires = int(now if now is not None else time.time()) + self.ttl_seconds
        query = urlencode({"expires": expires, "signature": self._signature(file_id, expires)})
        return f"{self._base}/files/{file_id}?{query}"

    def verify(
        self, file_id: str, expires: str, signature: str, *, now: float | None = None
    ) -> bool:
        """True for an untampered URL of this file that has not expired yet."""
        if not expires.isdigit() or len(expires) > 12:
            return False
        expected = self._signature(file_id, int(expires))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return False
        return int(expires) >= int(now if now is not None else time.time())
