"""Where `kai login` keeps its credentials: one JSON file in the user's config folder,
readable by its owner only (0600, in a 0700 folder), with one entry per server URL.

    {"version": 1, "servers": {"http://127.0.0.1:8000": {"kind": "session", "email": ...,
     "tokens": {"accessToken": ..., "refreshToken": ..., "expiresAt": ...}}}}

The folder is $XDG_CONFIG_HOME/kai, else the platform's: %APPDATA%\\kai on Windows,
~/Library/Application Support/kai on macOS, ~/.config/kai elsewhere.

A refresh token works once, and presenting a spent one ends the whole session, so two
`kai` processes must not both spend the same one: `locked()` holds an exclusive lock
(flock on a file beside the credentials; none on Windows) while a process reads, spends
and writes a pair, and the other then finds the new pair already stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FILE_NAME = "credentials.json"
VERSION = 1


def config_dir() -> Path:
    """The user's config folder for kai."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "kai"
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        return Path(appdata) / "kai" if appdata else Path.home() / "AppData" / "Roaming" / "kai"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "kai"
    return Path.home() / ".config" / "kai"


def server_key(url: str) -> str:
    """The entry's name for a server: its base URL, without a trailing / or /graphql."""
    return url.strip().rstrip("/").removesuffix("/graphql").rstrip("/")


class CredentialsError(Exception):
    """The credentials file cannot be read or written."""


class Store:
    """The credentials file. Every write replaces the file whole (a new file, 0600, then
    renamed over the old one), so a reader never sees half of it."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or config_dir()
        self.path = self.directory / FILE_NAME
        self._lock_path = self.directory / "credentials.lock"
        self._held = threading.local()

    # --- reading and writing ---------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": VERSION, "servers": {}}
        except OSError as exc:
            raise CredentialsError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise CredentialsError(f"{self.path} is not JSON; delete it and log in again") from None
        if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
            raise CredentialsError(f"{self.path} is not a kai credentials file")
        return data

    def entry(self, url: str) -> dict[str, Any] | None:
        found = self.read()["servers"].get(server_key(url))
        return found if isinstance(found, dict) else None

    def put(self, url: str, entry: dict[str, Any] | None) -> None:
        """Stores the entry for `url` (None removes it), under the lock."""
        with self.locked():
            data = self.read()
            if entry is None:
                data["servers"].pop(server_key(url), None)
            else:
                data["servers"][server_key(url)] = entry
            self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".credentials-", dir=self.directory)
        try:
            # mkstemp creates the file 0600; chmod again in case a umask or platform differs.
            os.chmod(temporary, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2, sort_keys=True)
                out.write("\n")
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    # --- one process at a time -------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive lock on the credentials, across processes; re-entrant in a thread."""
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0
                _unlock(fd)
        finally:
            os.close(fd)


def _lock(fd: int) -> None:
    if sys.platform != "win32":
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)


def _unlock(fd: int) -> None:
    if sys.platform != "win32":
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)
