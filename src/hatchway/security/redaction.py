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
    """Return a copy with every secret field's value replaced, recursing into nested mappings."""
    result: dict[str, Any] = {}
    for name, value in data.items():
        if is_secret_field(name):
            result[name] = REDACTED if value not in (None, "") else value
        elif isinstance(value, Mapping):
            result[name] = redact(value)
        elif isinstance(value, list):
            result[name] = [redact(item) if isinstance(item, Mapping) else item for item in value]
        else:
            result[name] = value
    return result
