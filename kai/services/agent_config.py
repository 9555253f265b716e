"""Validation of what createAgent/updateAgent accept, and redaction of what agents return."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from jsonschema import Draft202012Validator

from kai.errors import BadUserInput
from kai.runtimes.base import Runtime
from kai.services.validation import bounded_text

REDACTED = "[redacted]"
SECRET_SUFFIXES = ("key", "secret", "token", "password")
MAX_CAPABILITIES = 50
DEFAULT_RESOURCES: dict[str, Any] = {
    "memory": "512Mi",
    "cpu": "0.5",
    "storage": "1Gi",
    "gpu": False,
}
_QUANTITY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_CPU = re.compile(r"^\d+(\.\d+)?m?$")


def agent_name(name: str | None, *, field: str) -> str:
    clean = bounded_text(name, field=field, max_length=100, required=True)
    assert clean is not None
    return clean


def capabilities(values: Sequence[str] | None, *, field: str) -> list[str]:
    values = list(values or [])
    if len(values) > MAX_CAPABILITIES:
        raise BadUserInput(f"At most {MAX_CAPABILITIES} capabilities.", field=field)
    out: list[str] = []
    for value in values:
        clean = bounded_text(value, field=field, max_length=64, required=True)
        assert clean is not None
        if clean not in out:
            out.append(clean)
    return out


def configuration(
    runtime: Runtime, value: Any, *, field: str, stored: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Check `value` against the type's JSON Schema; a redacted secret keeps its stored value."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise BadUserInput("Configuration must be a JSON object.", field=field)
    if stored:
        value = _restore_secrets(value, stored, field=field)
    error = next(iter(Draft202012Validator(runtime.config_schema).iter_errors(value)), None)
    if error is not None:
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required" and isinstance(error.instance, dict):
            # Name the missing property, not the object that lacks it.
            path += [str(n) for n in error.validator_value if n not in error.instance][:1]
        where = ".".join(path)
        raise BadUserInput(
            f"Configuration does not fit the {runtime.name} schema: {error.message}",
            field=f"{field}.{where}" if where else field,
        )
    return dict(value)


def resources(value: dict[str, Any] | None, *, field: str) -> dict[str, Any]:
    merged = {**DEFAULT_RESOURCES, **{k: v for k, v in (value or {}).items() if v is not None}}
    for name in ("memory", "storage"):
        if not _QUANTITY.match(str(merged[name])):
            raise BadUserInput(
                f"Not a quantity like 512Mi: {merged[name]!r}.", field=f"{field}.{name}"
            )
    if not _CPU.match(str(merged["cpu"])):
        raise BadUserInput(
            f"Not a CPU amount like 0.5 or 500m: {merged['cpu']!r}.", field=f"{field}.cpu"
        )
    merged["gpu"] = bool(merged["gpu"])
    return merged


def is_secret_key(key: str) -> bool:
    return key.lower().replace("_", "").endswith(SECRET_SUFFIXES)


def redact(value: Any) -> Any:
    """A copy with every value under a secret-looking key replaced."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if is_secret_key(str(key)) and item is not None else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


DESTINATION_SUFFIXES = ("url", "uri", "host", "endpoint")


def is_destination_key(key: str) -> bool:
    """A setting that says where requests (and the secrets with them) go: baseUrl, host."""
    return key.lower().replace("_", "").endswith(DESTINATION_SUFFIXES)


def _restore_secrets(
    value: dict[str, Any],
    stored: dict[str, Any],
    *,
    field: str = "configuration",
    moved: bool = False,
) -> dict[str, Any]:
    """A client that reads the configuration and sends it back sends the redaction
    marker, not the secret: keep the secret it stands for. Unless where it goes changed:
    a secret is bound to the destination it was given for (a new baseUrl with the marker
    would send the stored key to the new host), so then it must be sent again."""
    moved = moved or any(
        value.get(key) != stored.get(key)
        for key in {*value, *stored}
        if is_destination_key(str(key))
    )
    restored: dict[str, Any] = {}
    for key, item in value.items():
        if item == REDACTED and key in stored:
            if moved:
                raise BadUserInput(
                    f"Where this agent connects changed: send {key} again; a stored secret is "
                    "never sent to a new destination.",
                    field=f"{field}.{key}",
                )
            restored[key] = stored[key]
        elif isinstance(item, dict) and isinstance(stored.get(key), dict):
            restored[key] = _restore_secrets(item, stored[key], field=f"{field}.{key}", moved=moved)
        else:
            restored[key] = item
    return restored
