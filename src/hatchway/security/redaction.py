"""The one redaction helper for GET responses, audit records, log lines and error messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

# Field names are compared lower-cased with '_' and '-' removed, so 'client_secret',
# 'ClientSecret' and 'client-secret' are one name.
SECRET_FIELD_NAMES = frozenset(
    {
        "key",
        "password",
        "newpassword",
        "provisioningkey",
        "clientsecret",
        "secret",
        "code",
        "codeverifier",
        "token",
        "idtoken",
        "accesstoken",
        "refreshtoken",
        "link",
        "emergencylink",
        "sessionid",
        "cookie",
        "authorization",
        "body",
    }
)


def _normalized(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def is_secret_field(name: str) -> bool:
    return _normalized(name) in SECRET_FIELD_NAMES


def redact(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy with every secret field's value replaced, at any depth of nesting."""
    result: dict[str, Any] = {}
    for name, value in data.items():
        if is_secret_field(str(name)):
            result[name] = REDACTED if value not in (None, "") else value
        else:
            result[name] = _redact_value(value)
    return result


def _redact_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value
