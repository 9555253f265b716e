"""docs/security.md "Passwords, login, magic links": A1-A4, A8, A10
(A5-A7: test_security_magic_link)."""

from __future__ import annotations

import base64
import getpass
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select, update
from sqlmodel import col

from kai import cli
from kai.models.user import User
from kai.security import passwords, secrets
from kai.services.shared import Services
from tests.support.apps import client_at, record_mail, running_app, services_of
from tests.support.graphql_client import DEFAULT_PASSWORD, LOGIN, REGISTER, GraphQLClient, Result
from tests.support.settings import make_settings

REQUEST_MAGIC_LINK = """
mutation RequestMagicLink($email: String!) { requestMagicLink(email: $email) }
"""
REFRESH = """
mutation Refresh($token: String!) { refreshToken(refreshToken: $token) { accessToken } }
"""
ME = "query { me { email } }"
FIVE_ALIASED_LOGINS = """
mutation FiveLogins($input: LoginInput!) {
  l1: login(input: $input) { accessToken }
  l2: login(input: $input) { accessToken }
  l3: login(input: $input) { accessToken }
  l4: login(input: $input) { accessToken }
  l5: login(input: $input) { accessToken }
}
"""
MUTATION_DESCRIPTIONS = """
query { __type(name: "Mutation") { fields { name description } } }
"""

# Random-looking, so never on a common-password list; sliced to the length under test.
STRONG = "vJ7#qLm2xR9&tW4zKp3!" * 10

# Below OWASP's minimum: what an older release (or a cheaper setting) might have stored.
WEAK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _register_input(email: str, password: str) -> dict[str, Any]:
    return {"input": {"email": email, "password": password}}


def _login_input(email: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    return {"input": {"email": email, "password": password}}


async def _password_hash(services: Services, email: str) -> str:
    async with services.sessionmaker() as db:
        stored = await db.scalar(select(col(User.password_hash)).where(col(User.email) == email))
    assert stored is not None
    return stored


async def _set_user(services: Services, email: str, **values: Any) -> None:
    async with services.sessionmaker() as db, db.begin():
        await db.execute(update(User).where(col(User.email) == email).values(**values))


def _error(result: Result) -> dict[str, Any]:
    assert len(result.errors) == 1, result.body
    return result.errors[0]


# A1: Argon2id with at least OWASP's parameters; rehash on login when they changed.


async def test_a1_stored_hash_is_argon2id_with_owasp_minimum_parameters(
    app: Any, client: GraphQLClient
) -> None:
    # Given a newly registered account
    await client.register("ada@example.com")

    # When its stored hash is read from the database
    stored = await _password_hash(services_of(app), "ada@example.com")

    # Then it is an Argon2id hash of the password with m >= 19456 KiB, t >= 2, p = 1
    assert stored.startswith("$argon2id$")
    parameters = extract_parameters(stored)
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 19456
    assert parameters.time_cost >= 2
    assert parameters.parallelism == 1
    assert PasswordHasher().verify(stored, DEFAULT_PASSWORD)


async def test_a1_login_replaces_a_hash_made_with_weaker_parameters(
    app: Any, client: GraphQLClient
) -> None:
    # Given an account whose stored hash was made with weaker parameters
    services = services_of(app)
    await client.register("ada@example.com")
    weak_hash = WEAK_HASHER.hash(DEFAULT_PASSWORD)
    await _set_user(services, "ada@example.com", password_hash=weak_hash)

    # When its owner logs in
    await client.login("ada@example.com")

    # Then the stored hash is replaced by one with the current parameters, of the same password
    stored = await _password_hash(services, "ada@example.com")
    assert stored != weak_hash
    assert extract_parameters(stored) == extract_parameters(passwords.HASHER.hash("x"))
    assert PasswordHasher().verify(stored, DEFAULT_PASSWORD)
    assert await client.login("ada@example.com")


async def test_a1_login_keeps_a_hash_whose_parameters_are_current(
    app: Any, client: GraphQLClient
) -> None:
    # Given an account hashed with the current parameters
    services = services_of(app)
    await client.register("ada@example.com")
    before = await _password_hash(services, "ada@example.com")

    # When its owner logs in
    await client.login("ada@example.com")

    # Then the stored hash is left as it was (rehashing only when the parameters changed)
    assert await _password_hash(services, "ada@example.com") == before


# A2: 8..128 characters, no composition rules, no truncation, common passwords refused.


@pytest.mark.parametrize(("length", "accepted"), [(7, False), (8, True), (128, True), (129, False)])
async def test_a2_password_length_must_be_8_to_128_characters(
    app: Any, client: GraphQLClient, length: int, accepted: bool
) -> None:
    # Given a password of the length under test
    password = STRONG[:length]

    # When someone registers with it
    result = await client.execute(REGISTER, _register_input("ada@example.com", password))

    # Then it is accepted (and works for login) within 8..128, else refused on input.password
    if accepted:
        assert result.ok()["register"]["user"]["email"] == "ada@example.com"
        assert await client.login("ada@example.com", password)
    else:
        error = _error(result)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["field"] == "input.password"
        async with services_of(app).sessionmaker() as db:
            assert await db.scalar(select(User).where(col(User.email) == "ada@example.com")) is None


@pytest.mark.parametrize("password", ["password123", "iloveyou1", "PASSWORD123"])
async def test_a2_common_passwords_are_refused(client: GraphQLClient, password: str) -> None:
    # Given one of the most common leaked passwords (in any letter case)
    # When someone registers with it
    result = await client.execute(REGISTER, _register_input("ada@example.com", password))

    # Then it is refused as bad input on input.password
    error = _error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "input.password"


async def test_a2_no_composition_rules_apply(client: GraphQLClient) -> None:
    # Given uncommon passwords without digits, capitals or symbols, or with only digits
    for email, password in [
        ("lower@example.com", "quietlanternorchard"),
        ("digits@example.com", "80413975206"),
    ]:
        # When someone registers with them
        result = await client.execute(REGISTER, _register_input(email, password))

        # Then they are accepted
        assert result.ok()["register"]["user"]["email"] == email


async def test_a2_long_password_is_not_truncated(client: GraphQLClient) -> None:
    # Given an account with a 100-character password (bcrypt would keep only 72 bytes)
    password = STRONG[:100]
    await client.register("ada@example.com", password)

    # When logging in with its first 72 characters, or with only its last one changed
    first_72 = await client.execute(LOGIN, _login_input("ada@example.com", password[:72]))
    last_changed = await client.execute(LOGIN, _login_input("ada@example.com", password[:99] + "#"))

    # Then both fail, while the whole password works
    assert first_72.codes == ["UNAUTHENTICATED"]
    assert last_changed.codes == ["UNAUTHENTICATED"]
    assert await client.login("ada@example.com", password)


# A3: login does not reveal whether an account exists.


async def test_a3_unknown_email_wrong_password_and_disabled_account_fail_identically(
    app: Any, client: GraphQLClient
) -> None:
    # Given a known account and a disabled one
    await client.register("ada@example.com")
    await client.register("gone@example.com")
    await _set_user(services_of(app), "gone@example.com", is_active=False)

    # When logging in with an unknown email, a wrong password, and the disabled account
    unknown = await client.execute(LOGIN, _login_input("nobody@example.com"))
    wrong = await client.execute(LOGIN, _login_input("ada@example.com", "not the password"))
    disabled = await client.execute(LOGIN, _login_input("gone@example.com"))

    # Then all three answer the very same status and body (message, code, path)
    assert unknown.codes == ["UNAUTHENTICATED"]
    assert (unknown.status, unknown.body) == (wrong.status, wrong.body)
    assert (unknown.status, unknown.body) == (disabled.status, disabled.body)


async def test_a3_unknown_email_still_spends_an_argon2_verify(
    app: Any, client: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a known account, and a spy on Argon2 verification
    await client.register("ada@example.com")
    stored = await _password_hash(services_of(app), "ada@example.com")
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verified.append(hash if isinstance(hash, str) else hash.decode())
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)

    # When someone logs in with an unknown email
    result = await client.execute(LOGIN, _login_input("nobody@example.com"))

    # Then it fails after one Argon2id verify as costly as a real account's
    assert result.codes == ["UNAUTHENTICATED"]
    assert len(verified) == 1
    assert extract_parameters(verified[0]) == extract_parameters(stored)


# A4: register / requestMagicLink do not reveal whether an account exists.


async def test_a4_request_magic_link_answers_the_same_for_known_and_unknown_emails(
    app: Any, client: GraphQLClient
) -> None:
    # Given a known account, and the mail being recorded
    await client.register("ada@example.com")
    mail = record_mail(app)

    # When a magic link is requested for it and for an unknown address
    known = await client.execute(REQUEST_MAGIC_LINK, {"email": "ada@example.com"})
    unknown = await client.execute(REQUEST_MAGIC_LINK, {"email": "nobody@example.com"})

    # Then both answer true, identically; only the account's owner gets an email
    assert known.body == {"data": {"requestMagicLink": True}}
    assert (unknown.status, unknown.body) == (known.status, known.body)
    assert [sent.to for sent in await mail.delivered()] == ["ada@example.com"]


async def test_a4_register_with_a_taken_email_answers_documented_conflict(
    app: Any, client: GraphQLClient
) -> None:
    # Given an account
    await client.register("ada@example.com")

    # When someone registers the same address again (in another letter case)
    result = await client.execute(REGISTER, _register_input("ADA@Example.com", STRONG[:20]))

    # Then the answer is CONFLICT on input.email, no second account exists,
    # and the schema documents this exception to A4
    error = _error(result)
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["field"] == "input.email"
    async with services_of(app).sessionmaker() as db:
        assert len((await db.scalars(select(User))).all()) == 1
    fields = (await client.execute(MUTATION_DESCRIPTIONS)).ok()["__type"]["fields"]
    register = next(f for f in fields if f["name"] == "register")
    assert "CONFLICT" in register["description"]


# A8: throttling per account and per client IP, counted per field (aliases included).


async def test_a8_login_is_throttled_per_account_across_client_ips(
    database_url: str, tmp_path: Path
) -> None:
    # Given an app allowing 3 attempts per account, and an account
    settings = make_settings(
        database_url, tmp_path, rate_limit_auth_per_account=3, rate_limit_auth_per_ip=1000
    )
    async with running_app(settings) as app:
        async with client_at(app, "198.51.100.1") as client:
            await client.register("ada@example.com")

        # When 4 logins to that account come from 4 different addresses
        results: list[Result] = []
        for n in range(1, 5):
            async with client_at(app, f"198.51.100.{n}") as client:
                results.append(await client.execute(LOGIN, _login_input("ada@example.com")))

        # Then the 4th is RATE_LIMITED, though its password is right
        assert [r.codes for r in results] == [[], [], [], ["RATE_LIMITED"]]
        # And another account from the same address is not affected
        async with client_at(app, "198.51.100.4") as client:
            other = await client.execute(LOGIN, _login_input("nobody@example.com"))
        assert other.codes == ["UNAUTHENTICATED"]


async def test_a8_login_is_throttled_per_client_ip_across_accounts(
    database_url: str, tmp_path: Path
) -> None:
    # Given an app allowing 3 attempts per client address
    settings = make_settings(
        database_url, tmp_path, rate_limit_auth_per_ip=3, rate_limit_auth_per_account=1000
    )
    async with running_app(settings) as app:
        # When one address tries 4 different accounts
        async with client_at(app, "198.51.100.1") as client:
            results = [
                await client.execute(LOGIN, _login_input(f"user{n}@example.com")) for n in range(4)
            ]

        # Then the 4th is RATE_LIMITED
        assert [r.codes for r in results] == [["UNAUTHENTICATED"]] * 3 + [["RATE_LIMITED"]]
        # And another address is not affected
        async with client_at(app, "198.51.100.2") as client:
            other = await client.execute(LOGIN, _login_input("user0@example.com"))
        assert other.codes == ["UNAUTHENTICATED"]


async def test_a8_aliased_logins_in_one_document_each_count(
    database_url: str, tmp_path: Path
) -> None:
    # Given an app allowing 3 attempts per account, and an account
    settings = make_settings(
        database_url, tmp_path, rate_limit_auth_per_account=3, rate_limit_auth_per_ip=1000
    )
    async with running_app(settings) as app, client_at(app) as client:
        await client.register("ada@example.com")

        # When one document carries 5 aliased logins to it
        result = await client.execute(FIVE_ALIASED_LOGINS, _login_input("ada@example.com"))

        # Then the first three aliases pass and the 4th is RATE_LIMITED: each field
        # is an attempt of its own
        first_error = result.errors[0]
        assert first_error["path"] == ["l4"], result.body
        assert first_error["extensions"]["code"] == "RATE_LIMITED"
        # And the budget is spent for later requests too
        after = await client.execute(LOGIN, _login_input("ada@example.com"))
        assert after.codes == ["RATE_LIMITED"]


async def test_a8_rate_limited_carries_retry_after_in_whole_seconds(
    database_url: str, tmp_path: Path
) -> None:
    # Given an app allowing 1 attempt per account in a 60 s window
    settings = make_settings(
        database_url,
        tmp_path,
        rate_limit_auth_per_account=1,
        rate_limit_auth_window_seconds=60,
    )
    async with running_app(settings) as app, client_at(app) as client:
        # When a second attempt follows the first
        await client.execute(LOGIN, _login_input("ada@example.com"))
        result = await client.execute(LOGIN, _login_input("ada@example.com"))

        # Then RATE_LIMITED says how long to wait, in whole seconds within the window
        error = _error(result)
        assert error["extensions"]["code"] == "RATE_LIMITED"
        retry_after = error["extensions"]["retryAfter"]
        assert isinstance(retry_after, int)
        assert 1 <= retry_after <= 60


def _register_attempt(n: int) -> tuple[str, dict[str, Any]]:
    return REGISTER, _register_input(f"user{n}@example.com", STRONG[:20])


def _magic_link_attempt(n: int) -> tuple[str, dict[str, Any]]:
    return REQUEST_MAGIC_LINK, {"email": f"user{n}@example.com"}


def _refresh_attempt(n: int) -> tuple[str, dict[str, Any]]:
    return REFRESH, {"token": f"not-a-refresh-token-{n}"}


@pytest.mark.parametrize(
    "attempt",
    [_register_attempt, _magic_link_attempt, _refresh_attempt],
    ids=["register", "requestMagicLink", "refreshToken"],
)
async def test_a8_register_magic_link_and_refresh_are_throttled_per_client_ip(
    database_url: str, tmp_path: Path, attempt: Callable[[int], tuple[str, dict[str, Any]]]
) -> None:
    # Given an app allowing 3 attempts per client address
    settings = make_settings(
        database_url, tmp_path, rate_limit_auth_per_ip=3, rate_limit_auth_per_account=1000
    )
    async with running_app(settings) as app:
        # When one address makes 4 attempts (each for a different account)
        async with client_at(app, "198.51.100.1") as client:
            results = [await client.execute(*attempt(n)) for n in range(4)]

        # Then only the 4th is RATE_LIMITED, and another address is not affected
        assert ["RATE_LIMITED" in r.codes for r in results] == [False, False, False, True]
        async with client_at(app, "198.51.100.2") as client:
            other = await client.execute(*attempt(9))
        assert "RATE_LIMITED" not in other.codes


@pytest.mark.parametrize(
    "query", [REGISTER, REQUEST_MAGIC_LINK], ids=["register", "requestMagicLink"]
)
async def test_a8_register_and_magic_link_are_throttled_per_account(
    database_url: str, tmp_path: Path, query: str
) -> None:
    # Given an app allowing 3 attempts per account
    settings = make_settings(
        database_url, tmp_path, rate_limit_auth_per_account=3, rate_limit_auth_per_ip=1000
    )
    variables = (
        _register_input("ada@example.com", STRONG[:20])
        if query is REGISTER
        else {"email": "ada@example.com"}
    )
    async with running_app(settings) as app:
        # When 4 attempts for one address come from 4 different client addresses
        results: list[Result] = []
        for n in range(1, 5):
            async with client_at(app, f"198.51.100.{n}") as client:
                results.append(await client.execute(query, variables))

        # Then only the 4th is RATE_LIMITED
        assert ["RATE_LIMITED" in r.codes for r in results] == [False, False, False, True]


# A10: secrets compared in constant time.


def test_a10_same_compares_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a spy on hmac.compare_digest
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    # When secrets are compared with kai.security.secrets.same
    results = [secrets.same("s3cret", "s3cret"), secrets.same("s3cret", "s3creT")]
    results.append(secrets.same("s3cret", "longer-s3cret"))

    # Then each comparison went through compare_digest, with the right answers
    assert results == [True, False, False]
    assert len(calls) == 3


async def test_a10_access_token_signature_is_compared_with_compare_digest(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an access token, a forged copy with another signature, and a spy on compare_digest
    token = (await client.register("ada@example.com"))["accessToken"]
    header_and_claims, _, signature = token.rpartition(".")
    forged = header_and_claims + "." + base64.urlsafe_b64encode(b"\0" * 32).decode().rstrip("=")
    compared: list[bytes] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.extend(x for x in (a, b) if isinstance(x, bytes))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    # When each is presented
    good = await client.execute(ME, token=token)
    bad = await client.execute(ME, token=forged)

    # Then the real one works, the forged one does not, and both signatures were
    # compared with compare_digest
    assert good.ok()["me"]["email"] == "ada@example.com"
    assert bad.codes == ["UNAUTHENTICATED"]
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) in compared
    assert b"\0" * 32 in compared


def test_a10_create_admin_confirms_the_password_with_compare_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a create-admin prompt, on a terminal, where the two typed passwords differ
    monkeypatch.delenv("KAI_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr(cli, "_on_a_terminal", lambda: True)
    typed = iter([STRONG[:20], STRONG[:19] + "?"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    # When create-admin runs
    with pytest.raises(SystemExit, match="passwords differ"):
        cli.main(["create-admin", "--email", "root@example.com"])

    # Then the two passwords were compared with compare_digest
    assert len(calls) == 1
