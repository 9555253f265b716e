"""docs/security.md "Tokens and sessions" (S1-S10), end to end over /graphql.

Forged tokens start from the claims of a real session (a real `sub` and `sid`),
so the one thing wrong with each is what the test is about; where it matters, a
control token signed the legitimate way is shown to work first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import stat
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import update
from sqlmodel import col

from kai.app import create_app
from kai.config import Settings
from kai.db import transaction
from kai.jwt_secret import JWT_SECRET_FILE, UnsafeSettingsError
from kai.models.base import utcnow
from kai.models.session import AuthSession
from kai.security.tokens import TokenService, TokenType
from tests.support.graphql_client import GraphQLClient, nodes
from tests.support.settings import TEST_SECRET, make_settings

ME = "query { me { id email role } }"
SESSION = "query { session { id expiresAt permissions } }"
USERS = "query { users { edges { node { id } } } }"
LOGOUT = "mutation { logout }"
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken expiresAt }
}
"""
SET_ROLE = """
mutation SetRole($userId: ID!, $role: Role!) {
  setUserRole(userId: $userId, role: $role) { id role }
}
"""
SET_ACTIVE = """
mutation SetActive($userId: ID!, $active: Boolean!) {
  setUserActive(userId: $userId, active: $active) { id active }
}
"""

ISSUER = "kai"
AUDIENCE = "kai-api"
LEEWAY_SECONDS = 10
ATTACKER_SECRET = "attacker-secret-" + "a" * 40
PRODUCTION = {
    "env": "production",
    "database_url": "postgresql+asyncpg://kai@db.example.test/kai",
    "public_url": "https://kai.example.test",
    "clamd_url": "tcp://clamd.example.test:3310",
    "broadcast_url": "redis://redis.example.test:6379",
}


# --- helpers -------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    algorithm: str
    private_pem: str
    public_pem: str
    public_jwk: dict[str, Any]


@pytest.fixture(scope="module")
def key_pairs() -> dict[str, KeyPair]:
    """One server key pair per asymmetric algorithm, and an attacker's RSA pair."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "RS256": _key_pair("RS256", rsa_key),
        "EdDSA": _key_pair("EdDSA", ed25519.Ed25519PrivateKey.generate()),
        "attacker": _key_pair("RS256", attacker),
    }


def _key_pair(algorithm: str, key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> KeyPair:
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    public_jwk: dict[str, Any] = (
        RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        if isinstance(key, rsa.RSAPrivateKey)
        else {}
    )
    return KeyPair(algorithm, private_pem, public_pem, public_jwk)


def _plain_settings(**values: Any) -> Settings:
    """Settings from these values alone: no `.env`, none of make_settings' test defaults."""
    return Settings(_env_file=None, **values)


def _asymmetric_settings(database_url: str, data_dir: Path, pair: KeyPair) -> Settings:
    return make_settings(
        database_url,
        data_dir,
        jwt_secret=None,
        jwt_algorithm=pair.algorithm,
        jwt_private_key=pair.private_pem,
        jwt_public_key=pair.public_pem,
    )


@asynccontextmanager
async def _serve(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """Like the `client` fixture, for settings the fixture does not use."""
    application = create_app(settings)
    async with LifespanManager(application) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http)


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _sign(
    claims: dict[str, Any],
    *,
    key: str = TEST_SECRET,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
) -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw_token(
    header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes] | None
) -> str:
    """A JWT built by hand, for what pyjwt refuses to produce (alg none, HMAC with a PEM)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{_b64(signature)}"


def _now() -> int:
    return int(utcnow().timestamp())


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _me(client: GraphQLClient, token: str) -> list[str]:
    """The error codes of `me` with this credential; [] when it works."""
    result = await client.execute(ME, token=token)
    if not result.codes:
        assert result.data["me"] is not None, result.body
    return result.codes


async def _refresh(client: GraphQLClient, refresh_token: str) -> Any:
    return await client.execute(REFRESH, {"token": refresh_token})


async def _edit_session(app: Any, session_id: str, **values: Any) -> None:
    async with transaction(app.state.services.sessionmaker) as db:
        await db.execute(
            update(AuthSession).where(col(AuthSession.id) == session_id).values(**values)
        )


# --- S1 algorithm pinned -------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_s1_unsigned_alg_none_token_is_unauthenticated(
    client: GraphQLClient, alg: str
) -> None:
    # given the claims of a live session
    claims = _claims((await client.register("ada@example.com"))["accessToken"])
    assert await _me(client, _sign(claims)) == []

    # when they arrive unsigned
    token = _raw_token({"alg": alg, "typ": "JWT"}, claims, sign=None)

    # then
    assert await _me(client, token) == ["UNAUTHENTICATED"]


# The test secret is shorter than RFC 7518 wants for HS512; the server never uses HS512.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_s1_hmac_algorithm_other_than_configured_is_unauthenticated(
    client: GraphQLClient, algorithm: str
) -> None:
    # given a server pinned to HS256 and the claims of a live session
    claims = _claims((await client.register("ada@example.com"))["accessToken"])
    assert await _me(client, _sign(claims, algorithm="HS256")) == []

    # when they are signed with the right secret but another algorithm
    token = _sign(claims, algorithm=algorithm)

    # then
    assert await _me(client, token) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("algorithm", ["RS256", "EdDSA"])
async def test_s1_asymmetric_algorithm_works_end_to_end(
    database_url: str, tmp_path: Path, key_pairs: dict[str, KeyPair], algorithm: str
) -> None:
    # given a server configured for an asymmetric algorithm
    pair = key_pairs[algorithm]
    settings = _asymmetric_settings(database_url, tmp_path / "data", pair)
    async with _serve(settings) as client:
        # when a user registers, uses the token and refreshes it
        issued = await client.register("ada@example.com")
        assert await _me(client, issued["accessToken"]) == []
        refreshed = (await _refresh(client, issued["refreshToken"])).ok()["refreshToken"]

        # then the tokens are signed with that algorithm and verify with the public key
        for token in (issued["accessToken"], refreshed["accessToken"]):
            assert jwt.get_unverified_header(token)["alg"] == algorithm
            jwt.decode(token, pair.public_pem, algorithms=[algorithm], audience=AUDIENCE)
        assert await _me(client, refreshed["accessToken"]) == []


@pytest.mark.parametrize("algorithm", ["RS256", "EdDSA"])
async def test_s1_hs256_token_keyed_with_the_public_key_is_unauthenticated(
    database_url: str, tmp_path: Path, key_pairs: dict[str, KeyPair], algorithm: str
) -> None:
    # given an asymmetric server and the claims of a live session on it
    pair = key_pairs[algorithm]
    settings = _asymmetric_settings(database_url, tmp_path / "data", pair)
    async with _serve(settings) as client:
        claims = _claims((await client.register("ada@example.com"))["accessToken"])

        # when an attacker signs them with HS256 keyed by the (public) PEM
        def with_public_key(message: bytes) -> bytes:
            return hmac.new(pair.public_pem.encode(), message, hashlib.sha256).digest()

        token = _raw_token({"alg": "HS256", "typ": "JWT"}, claims, sign=with_public_key)

        # then
        assert await _me(client, token) == ["UNAUTHENTICATED"]


# --- S2 key-picking headers ignored --------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        {"kid": "attacker"},
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"jwk": {"kty": "oct", "k": _b64(ATTACKER_SECRET.encode())}},
    ],
    ids=["kid", "jku", "x5u", "jwk"],
)
async def test_s2_hmac_token_signed_with_key_named_in_header_is_unauthenticated(
    client: GraphQLClient, header: dict[str, Any]
) -> None:
    # given the claims of a live session; the header alone changes nothing
    claims = _claims((await client.register("ada@example.com"))["accessToken"])
    assert await _me(client, _sign(claims, headers=header)) == []

    # when they are signed with the attacker's key that the header points to
    token = _sign(claims, key=ATTACKER_SECRET, headers=header)

    # then
    assert await _me(client, token) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("header_name", ["jwk", "jku", "x5u", "kid"])
async def test_s2_rs256_token_signed_with_attacker_key_from_header_is_unauthenticated(
    database_url: str, tmp_path: Path, key_pairs: dict[str, KeyPair], header_name: str
) -> None:
    # given an RS256 server and the claims of a live session on it
    server, attacker = key_pairs["RS256"], key_pairs["attacker"]
    header: dict[str, Any] = {
        "jwk": attacker.public_jwk,
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "kid": "attacker",
    }
    header = {header_name: header[header_name]}
    settings = _asymmetric_settings(database_url, tmp_path / "data", server)
    async with _serve(settings) as client:
        claims = _claims((await client.register("ada@example.com"))["accessToken"])
        genuine = _sign(claims, key=server.private_pem, algorithm="RS256", headers=header)
        assert await _me(client, genuine) == []

        # when the attacker signs them with the key the header names or embeds
        token = _sign(claims, key=attacker.private_pem, algorithm="RS256", headers=header)

        # then
        assert await _me(client, token) == ["UNAUTHENTICATED"]


# --- S3 exp and iat, S4 iss and aud --------------------------------------------


@pytest.mark.parametrize("claim", ["exp", "iat"])
async def test_s3_token_without_required_time_claim_is_unauthenticated(
    client: GraphQLClient, claim: str
) -> None:
    # given the claims of a live session
    claims = _claims((await client.register("ada@example.com"))["accessToken"])
    assert await _me(client, _sign(claims)) == []

    # when one time claim is left out
    del claims[claim]

    # then
    assert await _me(client, _sign(claims)) == ["UNAUTHENTICATED"]


async def test_s3_token_expired_beyond_leeway_is_unauthenticated(client: GraphQLClient) -> None:
    # given a live session
    claims = _claims((await client.register("ada@example.com"))["accessToken"])

    # when its token expired longer ago than the leeway
    now = _now()
    claims.update(iat=now - 600, exp=now - LEEWAY_SECONDS - 30)

    # then
    assert await _me(client, _sign(claims)) == ["UNAUTHENTICATED"]


async def test_s3_token_expired_within_leeway_is_accepted(client: GraphQLClient) -> None:
    # given a live session
    claims = _claims((await client.register("ada@example.com"))["accessToken"])

    # when its token expired a moment ago, well inside the leeway
    now = _now()
    claims.update(iat=now - 600, exp=now - 3)

    # then clock skew is forgiven
    assert await _me(client, _sign(claims)) == []


async def test_s3_token_issued_in_the_future_is_unauthenticated(client: GraphQLClient) -> None:
    # given a live session
    claims = _claims((await client.register("ada@example.com"))["accessToken"])

    # when its token claims to be issued an hour from now
    now = _now()
    claims.update(iat=now + 3600, exp=now + 7200)

    # then
    assert await _me(client, _sign(claims)) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    ("claim", "value"),
    [("iss", "evil"), ("iss", None), ("aud", "other-api"), ("aud", ["other-api"]), ("aud", None)],
    ids=["wrong-iss", "no-iss", "wrong-aud", "wrong-aud-list", "no-aud"],
)
async def test_s4_token_for_another_issuer_or_audience_is_unauthenticated(
    client: GraphQLClient, claim: str, value: Any
) -> None:
    # given the claims of a live session
    claims = _claims((await client.register("ada@example.com"))["accessToken"])
    assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)

    # when the issuer or the audience is wrong or missing
    if value is None:
        del claims[claim]
    else:
        claims[claim] = value

    # then
    assert await _me(client, _sign(claims)) == ["UNAUTHENTICATED"]


# --- S5 token type -------------------------------------------------------------


async def test_s5_refresh_token_as_bearer_is_unauthenticated(client: GraphQLClient) -> None:
    # given a signed-in user
    issued = await client.register("ada@example.com")
    assert await _me(client, issued["accessToken"]) == []

    # when the refresh token is sent as the access token
    codes = await _me(client, issued["refreshToken"])

    # then
    assert codes == ["UNAUTHENTICATED"]


async def test_s5_access_token_passed_to_refresh_token_is_unauthenticated(
    client: GraphQLClient,
) -> None:
    # given a signed-in user
    issued = await client.register("ada@example.com")

    # when the access token is spent as a refresh token
    result = await _refresh(client, issued["accessToken"])

    # then it is refused, and the real refresh token was not touched
    assert result.codes == ["UNAUTHENTICATED"]
    assert (await _refresh(client, issued["refreshToken"])).ok()


# --- S6 signing secret ---------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [None, "", secrets.token_hex(15) + "a", "changeme", "CHANGEME", "secret"],
    ids=["missing", "empty", "31-bytes", "changeme", "CHANGEME", "secret"],
)
def test_s6_production_refuses_missing_short_or_placeholder_secret(
    tmp_path: Path, secret: str | None
) -> None:
    # given otherwise safe production settings
    # when the signing secret is missing, short or a placeholder
    # then startup is refused, naming the setting to fix
    with pytest.raises(UnsafeSettingsError, match="KAI_JWT_SECRET"):
        _plain_settings(data_dir=tmp_path, jwt_secret=secret, **PRODUCTION)


def test_s6_production_accepts_a_long_random_secret(tmp_path: Path) -> None:
    # given production settings with 32 random bytes as the secret
    secret = secrets.token_urlsafe(32)

    # when they are loaded
    settings = _plain_settings(data_dir=tmp_path, jwt_secret=secret, **PRODUCTION)

    # then it is the signing key, and no file was generated
    assert settings.signing_keys() == (secret, secret)
    assert not (tmp_path / JWT_SECRET_FILE).exists()


def test_s6_development_generates_one_private_secret_and_keeps_it(tmp_path: Path) -> None:
    # given two processes' settings on the same data directory, without a secret
    first = _plain_settings(data_dir=tmp_path / "data", jwt_secret=None)
    second = _plain_settings(data_dir=tmp_path / "data", jwt_secret=None)

    # when each signs a token
    now = utcnow()
    tokens = [
        TokenService(settings).issue(
            token_type=TokenType.ACCESS,
            user_id="usr_1",
            session_id="ses_1",
            now=now,
            expires_at=now + timedelta(minutes=1),
        )
        for settings in (first, second)
    ]

    # then each verifies the other's: the secret was generated once and kept
    assert TokenService(second).verify(tokens[0], token_type=TokenType.ACCESS).user_id == "usr_1"
    assert TokenService(first).verify(tokens[1], token_type=TokenType.ACCESS).user_id == "usr_1"
    path = tmp_path / "data" / JWT_SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip().encode()) >= 32
    # and it is random, not a built-in default
    other = _plain_settings(data_dir=tmp_path / "other", jwt_secret=None)
    assert other.signing_keys() != first.signing_keys()


@pytest.mark.parametrize("content", ["", "short"], ids=["empty", "short"])
def test_s6_development_refuses_a_short_secret_file(tmp_path: Path, content: str) -> None:
    # given a data directory whose secret file is empty or short (e.g. a crash mid-write)
    (tmp_path / JWT_SECRET_FILE).write_text(content)
    settings = _plain_settings(data_dir=tmp_path, jwt_secret=None)

    # when the signing key is loaded
    # then it is refused rather than used
    with pytest.raises(UnsafeSettingsError, match=JWT_SECRET_FILE):
        settings.signing_keys()


# --- S7 session id, revocation -------------------------------------------------


async def test_s7_tokens_carry_their_session_id(client: GraphQLClient) -> None:
    # given a signed-in user
    issued = await client.register("ada@example.com")

    # when the session is read
    session = (await client.execute(SESSION, token=issued["accessToken"])).ok()["session"]

    # then both tokens name it
    assert _claims(issued["accessToken"])["sid"] == session["id"]
    assert _claims(issued["refreshToken"])["sid"] == session["id"]


async def test_s7_logout_revokes_unexpired_tokens_at_once(client: GraphQLClient) -> None:
    # given a signed-in user
    issued = await client.register("ada@example.com")
    access, refresh = issued["accessToken"], issued["refreshToken"]

    # when they log out
    assert (await client.execute(LOGOUT, token=access)).ok()["logout"] is True

    # then the still-unexpired access token and the refresh token stop working
    assert _claims(access)["exp"] > _now() + 60
    assert await _me(client, access) == ["UNAUTHENTICATED"]
    assert (await client.execute(SESSION, token=access)).codes == ["UNAUTHENTICATED"]
    assert (await _refresh(client, refresh)).codes == ["UNAUTHENTICATED"]


# --- S8 rotation, reuse detection ----------------------------------------------


async def test_s8_refresh_rotates_and_spends_the_old_token(client: GraphQLClient) -> None:
    # given a signed-in user
    issued = await client.register("ada@example.com")

    # when they refresh
    rotated = (await _refresh(client, issued["refreshToken"])).ok()["refreshToken"]

    # then they get a new pair of the same session, and the new one works
    assert rotated["refreshToken"] != issued["refreshToken"]
    assert _claims(rotated["accessToken"])["sid"] == _claims(issued["accessToken"])["sid"]
    assert await _me(client, rotated["accessToken"]) == []
    # and the old refresh token is spent
    assert (await _refresh(client, issued["refreshToken"])).codes == ["UNAUTHENTICATED"]


async def test_s8_refresh_reuse_revokes_session(client: GraphQLClient) -> None:
    # given a session refreshed once, and another session of the same user
    issued = await client.register("ada@example.com")
    other = await client.login("ada@example.com")
    newest = (await _refresh(client, issued["refreshToken"])).ok()["refreshToken"]

    # when the spent refresh token is replayed
    replay = await _refresh(client, issued["refreshToken"])

    # then it fails, and so does everything the session issued since
    assert replay.codes == ["UNAUTHENTICATED"]
    assert await _me(client, newest["accessToken"]) == ["UNAUTHENTICATED"]
    assert (await _refresh(client, newest["refreshToken"])).codes == ["UNAUTHENTICATED"]
    # but only that session ends
    assert await _me(client, other["accessToken"]) == []


# --- S9 new session per login, idle and absolute lifetimes ---------------------


async def test_s9_each_login_opens_a_new_session(client: GraphQLClient) -> None:
    # given a registered user
    registered = await client.register("ada@example.com")

    # when they log in twice
    logins = [await client.login("ada@example.com") for _ in range(2)]

    # then every sign-in has its own session
    ids = [
        (await client.execute(SESSION, token=issued["accessToken"])).ok()["session"]["id"]
        for issued in (registered, *logins)
    ]
    assert len(set(ids)) == 3


async def test_s9_idle_session_is_refused(app: Any, client: GraphQLClient) -> None:
    # given a session, unused for just under the idle timeout
    issued = await client.register("ada@example.com")
    session_id = _claims(issued["accessToken"])["sid"]
    idle = timedelta(seconds=app.state.services.settings.session_idle_timeout_seconds)
    await _edit_session(app, session_id, last_used_at=utcnow() - idle + timedelta(minutes=5))
    assert await _me(client, issued["accessToken"]) == []

    # when it has been unused for longer than the idle timeout
    await _edit_session(app, session_id, last_used_at=utcnow() - idle - timedelta(minutes=1))

    # then neither token works
    assert await _me(client, issued["accessToken"]) == ["UNAUTHENTICATED"]
    assert (await _refresh(client, issued["refreshToken"])).codes == ["UNAUTHENTICATED"]


async def test_s9_session_past_absolute_lifetime_is_refused(
    app: Any, client: GraphQLClient
) -> None:
    # given a session in active use
    issued = await client.register("ada@example.com")
    session_id = _claims(issued["accessToken"])["sid"]

    # when its absolute end has passed
    now = utcnow()
    await _edit_session(app, session_id, last_used_at=now, expires_at=now - timedelta(seconds=1))

    # then neither token works
    assert await _me(client, issued["accessToken"]) == ["UNAUTHENTICATED"]
    assert (await _refresh(client, issued["refreshToken"])).codes == ["UNAUTHENTICATED"]


async def test_s9_refresh_never_extends_past_absolute_end(app: Any, client: GraphQLClient) -> None:
    # given a session five minutes from its absolute end (access tokens last longer)
    issued = await client.register("ada@example.com")
    session_id = _claims(issued["accessToken"])["sid"]
    end = utcnow().replace(microsecond=0) + timedelta(minutes=5)
    assert app.state.services.settings.access_token_ttl_seconds > 300
    await _edit_session(app, session_id, expires_at=end)

    # when it is refreshed
    refreshed = (await _refresh(client, issued["refreshToken"])).ok()["refreshToken"]

    # then nothing outlives the session, and the session's end did not move
    assert _time(refreshed["expiresAt"]) <= end
    assert _claims(refreshed["accessToken"])["exp"] <= end.timestamp()
    assert _claims(refreshed["refreshToken"])["exp"] <= end.timestamp()
    session = (await client.execute(SESSION, token=refreshed["accessToken"])).ok()["session"]
    assert _time(session["expiresAt"]) == end


# --- S10 role and status read on every request ---------------------------------


async def test_s10_demotion_applies_on_next_request(client: GraphQLClient) -> None:
    # given an admin, and a user promoted to ADMIN who uses admin fields
    admin = await client.register("admin@example.com")
    user = await client.register("user@example.com")
    user_id, token = user["user"]["id"], user["accessToken"]
    variables = {"userId": user_id, "role": "ADMIN"}
    (await client.execute(SET_ROLE, variables, token=admin["accessToken"])).ok()
    assert nodes((await client.execute(USERS, token=token)).ok()["users"])

    # when the admin demotes them
    variables = {"userId": user_id, "role": "USER"}
    (await client.execute(SET_ROLE, variables, token=admin["accessToken"])).ok()

    # then the same token, without a new sign-in, has USER rights only
    assert (await client.execute(USERS, token=token)).codes == ["FORBIDDEN"]
    session = (await client.execute(SESSION, token=token)).ok()["session"]
    assert "user.read" not in session["permissions"]
    assert "agent.create" in session["permissions"]
    assert (await client.execute(ME, token=token)).ok()["me"]["role"] == "USER"


async def test_s10_k7_disabling_revokes_token_and_api_key_for_good(
    client: GraphQLClient,
) -> None:
    # given a user with a working access token and API key
    admin = await client.register("admin@example.com")
    user = await client.register("user@example.com")
    user_id, token = user["user"]["id"], user["accessToken"]
    api_key = (await client.create_api_key(token))["secret"]
    assert await _me(client, token) == []
    assert await _me(client, api_key) == []

    # when an admin disables them
    variables = {"userId": user_id, "active": False}
    (await client.execute(SET_ACTIVE, variables, token=admin["accessToken"])).ok()

    # then both credentials fail on the next request
    assert await _me(client, token) == ["UNAUTHENTICATED"]
    assert await _me(client, api_key) == ["UNAUTHENTICATED"]

    # and re-enabling brings neither back (K7): the user signs in again
    variables = {"userId": user_id, "active": True}
    (await client.execute(SET_ACTIVE, variables, token=admin["accessToken"])).ok()
    assert await _me(client, token) == ["UNAUTHENTICATED"]
    assert await _me(client, api_key) == ["UNAUTHENTICATED"]
    again = await client.login("user@example.com")
    assert await _me(client, again["accessToken"]) == []


async def test_s10_k7_disabled_user_cannot_refresh_even_once_reenabled(
    client: GraphQLClient,
) -> None:
    # given a disabled user
    admin = await client.register("admin@example.com")
    user = await client.register("user@example.com")
    variables = {"userId": user["user"]["id"], "active": False}
    (await client.execute(SET_ACTIVE, variables, token=admin["accessToken"])).ok()

    # when they try to refresh
    refused = await _refresh(client, user["refreshToken"])

    # then it is refused, and the session stays ended once re-enabled (K7)
    assert refused.codes == ["UNAUTHENTICATED"]
    variables = {"userId": user["user"]["id"], "active": True}
    (await client.execute(SET_ACTIVE, variables, token=admin["accessToken"])).ok()
    assert await _me(client, user["accessToken"]) == ["UNAUTHENTICATED"]
    assert (await _refresh(client, user["refreshToken"])).codes == ["UNAUTHENTICATED"]
