"""docs/security.md "Passwords, login, magic links": A5-A7
(A1-A4, A8, A10: test_security_passwords)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import string
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import ValidationError
from sqlalchemy import func, select, text, update
from sqlmodel import col

from kai.models.base import utcnow
from kai.models.magic_link import MagicLink
from kai.models.session import AuthSession
from kai.models.user import User
from tests.support.apps import client_at, link_in, record_mail, running_app, services_of, token_of
from tests.support.graphql_client import GraphQLClient, Result
from tests.support.settings import make_settings

REQUEST_MAGIC_LINK = """
mutation RequestMagicLink($email: String!) { requestMagicLink(email: $email) }
"""
VERIFY_MAGIC_LINK = """
mutation VerifyMagicLink($token: String!) {
  verifyMagicLink(token: $token) { accessToken refreshToken user { email } }
}
"""
ME = "query { me { email } }"
BASE64URL = set(string.ascii_letters + string.digits + "-_")
TEN_MINUTES = timedelta(minutes=10)


async def _mailed_link(app: Any, client: GraphQLClient, email: str) -> str:
    """Ask for a magic link for `email` and return the link that was mailed to it."""
    mail = record_mail(app)
    assert (await client.execute(REQUEST_MAGIC_LINK, {"email": email})).ok() == {
        "requestMagicLink": True
    }
    (sent,) = await mail.delivered()
    assert sent.to == email
    return link_in(sent.body)


async def _set_expiry(app: Any, token: str, expires_in: timedelta) -> None:
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    async with services_of(app).sessionmaker() as db, db.begin():
        changed = await db.execute(
            update(MagicLink)
            .where(col(MagicLink.token_hash) == token_hash)
            .values(expires_at=utcnow() + expires_in)
        )
        assert changed.rowcount == 1  # type: ignore[attr-defined]


async def _sessions_of(app: Any, email: str) -> int:
    async with services_of(app).sessionmaker() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(AuthSession)
            .join(User, col(User.id) == col(AuthSession.user_id))
            .where(col(User.email) == email)
        )
    return int(count or 0)


def _signed_in_as(result: Result) -> str | None:
    payload = (result.data or {}).get("verifyMagicLink")
    return payload["user"]["email"] if payload else None


# A5: >= 128 random bits, stored hashed, valid 10 minutes or less.


async def test_a5_token_carries_at_least_128_random_bits(app: Any, client: GraphQLClient) -> None:
    # Given an account
    await client.register("ada@example.com")

    # When two magic links are requested
    tokens = [token_of(await _mailed_link(app, client, "ada@example.com")) for _ in range(2)]

    # Then each token is base64url for at least 16 random bytes, and they differ
    for token in tokens:
        assert set(token) <= BASE64URL
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16
    assert tokens[0] != tokens[1]


async def test_a5_database_stores_only_the_sha256_of_the_token(
    app: Any, client: GraphQLClient
) -> None:
    # Given a magic link that was mailed
    await client.register("ada@example.com")
    token = token_of(await _mailed_link(app, client, "ada@example.com"))

    # When the magic_link table is read, every column of every row
    async with services_of(app).sessionmaker() as db:
        rows = (await db.execute(text("SELECT * FROM magic_link"))).all()

    # Then the raw token appears nowhere; the row holds its SHA-256
    assert len(rows) == 1
    assert not any(token in str(value) for value in rows[0])
    async with services_of(app).sessionmaker() as db:
        stored = await db.scalar(select(col(MagicLink.token_hash)))
    assert stored == hashlib.sha256(token.encode()).hexdigest()


async def test_a5_link_is_valid_ten_minutes_at_most(app: Any, client: GraphQLClient) -> None:
    # Given a magic link that was mailed
    await client.register("ada@example.com")
    token = token_of(await _mailed_link(app, client, "ada@example.com"))

    # Then its row expires 10 minutes or less after it was made
    async with services_of(app).sessionmaker() as db:
        link = await db.scalar(select(MagicLink))
    assert link is not None
    assert timedelta(0) < link.expires_at - link.created_at <= TEN_MINUTES

    # When its expiry has passed, it is refused
    await _set_expiry(app, token, timedelta(seconds=-1))
    expired = await client.execute(VERIFY_MAGIC_LINK, {"token": token})
    assert expired.codes == ["UNAUTHENTICATED"]

    # While the same link, still in its lifetime, works (so the refusal was the expiry)
    await _set_expiry(app, token, timedelta(minutes=1))
    valid = await client.execute(VERIFY_MAGIC_LINK, {"token": token})
    assert _signed_in_as(valid) == "ada@example.com"


def test_a5_settings_refuse_a_lifetime_over_ten_minutes(tmp_path: Path) -> None:
    # Given/When a magic-link lifetime of 10 minutes, then of 10 minutes and one second
    allowed = make_settings("sqlite+aiosqlite://", tmp_path, magic_link_ttl_seconds=600)

    # Then the first is accepted and the second refused
    assert allowed.magic_link_ttl_seconds == 600
    with pytest.raises(ValidationError, match="magic_link_ttl_seconds"):
        make_settings("sqlite+aiosqlite://", tmp_path, magic_link_ttl_seconds=601)


# A6: single use, consumed atomically.


async def test_a6_concurrent_magic_link_verifications_exactly_one_succeeds(
    app: Any, client: GraphQLClient
) -> None:
    # Given a magic link that was mailed
    await client.register("ada@example.com")
    token = token_of(await _mailed_link(app, client, "ada@example.com"))
    sessions_before = await _sessions_of(app, "ada@example.com")

    # When it is verified twice at the same time
    results = await asyncio.gather(
        client.execute(VERIFY_MAGIC_LINK, {"token": token}),
        client.execute(VERIFY_MAGIC_LINK, {"token": token}),
    )

    # Then exactly one signs in, the other is UNAUTHENTICATED, and one session was opened
    assert sorted(_signed_in_as(r) or "" for r in results) == ["", "ada@example.com"]
    assert sorted(r.codes for r in results) == [[], ["UNAUTHENTICATED"]]
    assert await _sessions_of(app, "ada@example.com") == sessions_before + 1


async def test_a6_used_magic_link_cannot_be_replayed(app: Any, client: GraphQLClient) -> None:
    # Given a magic link that was used to sign in
    await client.register("ada@example.com")
    token = token_of(await _mailed_link(app, client, "ada@example.com"))
    first = await client.execute(VERIFY_MAGIC_LINK, {"token": token})
    access_token = first.ok()["verifyMagicLink"]["accessToken"]
    assert (await client.execute(ME, token=access_token)).ok() == {
        "me": {"email": "ada@example.com"}
    }

    # When it is presented again
    replay = await client.execute(VERIFY_MAGIC_LINK, {"token": token})

    # Then it is refused
    assert replay.codes == ["UNAUTHENTICATED"]
    assert replay.data is None


# A7: the link is built from the configured public URL, never the Host header.


async def test_a7_link_uses_public_url_not_the_request_host(
    database_url: str, tmp_path: Path
) -> None:
    # Given an app whose public URL is https://login.kai.example/base/
    settings = make_settings(database_url, tmp_path, public_url="https://login.kai.example/base/")
    async with running_app(settings) as app, client_at(app) as client:
        await client.register("ada@example.com")
        mail = record_mail(app)

        # When a magic link is requested with hostile Host and forwarding headers
        hostile = {
            "host": "evil.example",
            "x-forwarded-host": "evil.example",
            "x-forwarded-proto": "http",
            "forwarded": "host=evil.example;proto=http",
        }
        answer = await client.execute(
            REQUEST_MAGIC_LINK, {"email": "ada@example.com"}, headers=hostile
        )

        # Then the mailed link points at the public URL, and nothing at the attacker's host
        assert answer.ok() == {"requestMagicLink": True}
        (sent,) = await mail.delivered()
        assert link_in(sent.body).startswith("https://login.kai.example/base/magic-link?token=")
        assert "evil" not in sent.body


class _SmtpInbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a7_link_arrives_over_smtp_built_from_public_url(
    database_url: str, tmp_path: Path
) -> None:
    # Given a plain SMTP server (no STARTTLS) and an app sending through it
    inbox = _SmtpInbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        settings = make_settings(database_url, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
        async with running_app(settings) as app, client_at(app) as client:
            await client.register("ada@example.com")

            # When a magic link is requested, with a hostile Host header
            answer = await client.execute(
                REQUEST_MAGIC_LINK, {"email": "ada@example.com"}, headers={"host": "evil.example"}
            )
            assert answer.ok() == {"requestMagicLink": True}
            await services_of(app).mailer.drain()

            # Then the message reached the SMTP server, addressed to the account,
            # with a link on the public URL that signs in
            assert inbox.recipients == ["ada@example.com"]
            (message,) = inbox.messages
            assert message["To"] == "ada@example.com"
            body = message.get_content()
            link = link_in(body)
            assert link.startswith("https://kai.example.test/magic-link?token=")
            verified = await client.execute(VERIFY_MAGIC_LINK, {"token": token_of(link)})
            assert _signed_in_as(verified) == "ada@example.com"
    finally:
        await asyncio.to_thread(controller.stop)
