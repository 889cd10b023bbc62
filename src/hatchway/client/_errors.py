"""Exceptions of the Provisioning API client.

    HatchwayClientError          base: catch this for every failure of a call
    ├── HatchwayApiError         Hatchway answered with an error status (4xx, 5xx) or a body
    │                            the client cannot read; carries the status, the validation
    │                            results of a 400 and the problem body of other errors
    └── HatchwayUnreachable      no answer: connection refused or reset, name not resolved,
                                 TLS failure, or a timeout

Messages are built from the server's sentences. The client removes the Provisioning Key and
every secret it sent in the failed request (Key, Password) from them before they are stored,
so that printing or logging an exception never shows a secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REDACTED = "[redacted]"

# Secrets shorter than this are not scrubbed from messages: replacing a two-letter "secret"
# would mangle ordinary words, and no Hatchway secret is that short.
_MIN_SCRUBBED_LENGTH = 4


@dataclass(frozen=True)
class ValidationResult:
    """One entry of a 400 response: the fields to fix and a sentence that explains how."""

    member_names: tuple[str, ...]
    error_message: str

    def __str__(self) -> str:
        if not self.member_names:
            return self.error_message
        return f"{', '.join(self.member_names)}: {self.error_message}"


class Secret:
    """A secret value whose repr never shows it, for attributes that debuggers print."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Secret('{REDACTED}')"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in `text` with '[redacted]'."""
    for secret in secrets:
        if len(secret) >= _MIN_SCRUBBED_LENGTH:
            text = text.replace(secret, REDACTED)
    return text


def scrub_json(value: Any, secrets: tuple[str, ...]) -> Any:
    """Return a copy of a parsed JSON value with every secret removed from its strings."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, list):
        return [scrub_json(item, secrets) for item in value]
    if isinstance(value, dict):
        return {str(key): scrub_json(item, secrets) for key, item in value.items()}
    return value


class HatchwayClientError(Exception):
    """Base of every error the client raises for a failed call."""


class HatchwayApiError(HatchwayClientError):
    """Hatchway answered a call with an error status, or with a body the client cannot read.

    `status` is the HTTP status. A 400 carries `results`, one `ValidationResult` per problem.
    Other statuses carry `error` (a code such as 'ProvisioningKeyInvalid' or
    'EnvironmentNotFound') and `message`, the server's sentence. `body` is the parsed JSON
    body (None when it was not JSON) and `retry_after` the seconds a 429 asks to wait.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error: str | None = None,
        results: tuple[ValidationResult, ...] = (),
        body: Any = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error = error
        self.results = results
        self.body = body
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"HatchwayApiError(status={self.status}, error={self.error!r}, "
            f"message={self.message!r})"
        )


class HatchwayUnreachable(HatchwayClientError):
    """The call got no response from `url`; `reason` explains why, `timed_out` marks a timeout."""

    def __init__(self, url: str, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(f"Hatchway at {url} could not be reached: {reason}")
        self.url = url
        self.reason = reason
        self.timed_out = timed_out
