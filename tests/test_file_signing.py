"""Signed download URLs (F7): bound to one file and an expiry, unforgeable without the key."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from kai.storage.signing import DownloadSigner

KEY = "k" * 48


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path, query["expires"][0], query["signature"][0]


def test_a_fresh_url_verifies_until_it_expires() -> None:
    signer = DownloadSigner(KEY, public_url="https://kai.example/", ttl_seconds=300)
    url = signer.url("fil_1", now=1_000_000)
    path, expires, signature = parts(url)
    assert url.startswith("https://kai.example/files/fil_1?")
    assert path == "/files/fil_1"
    assert expires == "1000300"
    assert signer.verify("fil_1", expires, signature, now=1_000_299)
    assert signer.verify("fil_1", expires, signature, now=1_000_300)
    assert not signer.verify("fil_1", expires, signature, now=1_000_301)


def test_forged_or_moved_signatures_fail() -> None:
    signer = DownloadSigner(KEY, public_url="https://kai.example", ttl_seconds=300)
    _, expires, signature = parts(signer.url("fil_1", now=1_000_000))
    now = 1_000_001
    assert not signer.verify("fil_2", expires, signature, now=now)  # another file
    assert not signer.verify("fil_1", str(int(expires) + 3600), signature, now=now)  # extended
    assert not signer.verify("fil_1", expires, signature[:-1] + "A", now=now)
    assert not signer.verify("fil_1", expires, "", now=now)
    assert not signer.verify("fil_1", "-5", signature, now=now)
    assert not signer.verify("fil_1", "9" * 40, signature, now=now)
    assert not signer.verify("fil_1", expires, "é" * 43, now=now)
    other = DownloadSigner("x" * 48, public_url="https://kai.example", ttl_seconds=300)
    assert not other.verify("fil_1", expires, signature, now=now)
