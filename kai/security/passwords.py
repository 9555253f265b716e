"""Argon2id hashing (OWASP parameters) and the password policy of docs/security.md A1/A2."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kai.errors import BadUserInput

MIN_LENGTH = 8
MAX_LENGTH = 128

# OWASP's minimum for Argon2id: 19 MiB, two passes, one lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)


@cache
def _dummy_hash() -> str:
    return HASHER.hash("kai-dummy-password-for-timing")


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common leaked passwords; ones shorter than
    # MIN_LENGTH are refused by length anyway.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p for p in FREQUENCY_LISTS["passwords"] if len(p) >= MIN_LENGTH)


def check_policy(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise BadUserInput(f"Password must have at least {MIN_LENGTH} characters.", field=field)
    if len(password) > MAX_LENGTH:
        raise BadUserInput(f"Password must have at most {MAX_LENGTH} characters.", field=field)
    if password.lower() in _common_passwords():
        raise BadUserInput("This password is too common; choose another.", field=field)


async def hash_password(password: str) -> str:
    # Argon2 takes tens of milliseconds of CPU: off the event loop.
    return await asyncio.to_thread(HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one used older parameters).

    With no stored hash (unknown account, magic-link-only account) a dummy hash is
    still verified, so the answer takes as long as for a real account (A3).
    """
    return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    target = password_hash or _dummy_hash()
    try:
        HASHER.verify(target, password)
    except (VerificationError, InvalidHashError):
        return False, None
    if password_hash is None:
        return False, None
    if HASHER.check_needs_rehash(password_hash):
        return True, HASHER.hash(password)
    return True, None


def warm_up() -> None:
    """Compute the dummy hash and load the list at start-up, not on the first login."""
    _dummy_hash()
    _common_passwords()
