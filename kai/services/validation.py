"""Input checks shared by services: each failure names the input field."""

from __future__ import annotations

import json
from typing import Any

from email_validator import EmailNotValidError, validate_email

from kai.errors import BadUserInput
from kai.json_values import MAX_DEPTH, JSONRefused, check_json

MAX_EMAIL_LENGTH = 254


def normalise_email(email: str, *, field: str) -> str:
    email = email.strip()
    if len(email) > MAX_EMAIL_LENGTH:
        raise BadUserInput("Email address is too long.", field=field)
    try:
        valid = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise BadUserInput(f"Invalid email address: {exc}", field=field) from exc
    # One account per mailbox whatever the case it is typed in.
    return valid.normalized.lower()


def canonical_email(email: str) -> str:
    """The stored form of an address, or a best effort for one that would not validate.

    Login and throttling use it so that they find the account register made,
    without telling a malformed address apart from an unknown one.
    """
    try:
        return normalise_email(email, field="email")
    except BadUserInput:
        return email.strip().lower()


def bounded_text(
    value: str | None,
    *,
    field: str,
    max_length: int,
    required: bool = False,
    multiline: bool = False,
) -> str | None:
    """`value` checked: at most `max_length` characters, no NUL. A name or a label is one
    line, its ends stripped; `multiline` text (a prompt, a message: pasted paragraphs,
    code) keeps its line breaks and indentation as sent, and is only refused when blank."""
    if value is None:
        if required:
            raise BadUserInput("A value is required.", field=field)
        return None
    stripped = value.strip()
    if required and not stripped:
        raise BadUserInput("A value is required.", field=field)
    if not multiline:
        value = stripped
    if len(value) > max_length:
        raise BadUserInput(f"At most {max_length} characters.", field=field)
    if "\x00" in value or (not multiline and any(ch in value for ch in "\r\n")):
        raise BadUserInput("Control characters are not allowed.", field=field)
    return value if stripped else None


def bounded_json(value: Any, *, field: str, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """`value`, if it is JSON of at most `max_bytes` bytes and `max_depth` levels, tighter
    than the JSON scalar's own limits; else BAD_USER_INPUT naming `field`."""
    try:
        check_json(value, max_depth=max_depth)
    except JSONRefused as exc:
        raise BadUserInput(str(exc), field=field) from None
    if len(json.dumps(value, separators=(",", ":")).encode()) > max_bytes:
        raise BadUserInput(f"At most {max_bytes // 1024} KiB of JSON.", field=field)
    return value
