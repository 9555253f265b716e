"""The JWT secret of a development server that was given none, and the error production
raises for unsafe settings."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

MIN_SECRET_BYTES = 32
JWT_SECRET_FILE = "jwt_secret"
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "dev", "development", "kai"}

__all__ = [
    "JWT_SECRET_FILE",
    "MIN_SECRET_BYTES",
    "PLACEHOLDER_SECRETS",
    "UnsafeSettingsError",
    "development_secret",
]


class UnsafeSettingsError(Exception):
    """Production refused to start; the message lists every unsafe setting.

    Not a ValueError: pydantic would wrap one in a ValidationError, and callers
    (the CLI, the tests) could no longer tell an unsafe setting from a malformed one.
    """


def development_secret(data_dir: Path) -> str:
    """Development only (production refuses to start without KAI_JWT_SECRET): generated
    once and kept in the data directory, so tokens survive a restart of `kai serve`."""
    path = data_dir / JWT_SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of two processes starting at once, exactly one writes it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
    secret = path.read_text().strip()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise UnsafeSettingsError(
            f"{path} holds fewer than {MIN_SECRET_BYTES} bytes: delete it to generate "
            "a new secret, or set KAI_JWT_SECRET"
        )
    return secret
