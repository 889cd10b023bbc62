"""Domain errors shared by every feature package.

Services raise these with the data a message needs; the Provisioning API maps them to HTTP
responses in one place (`hatchway.provisioning.errors`) and the pages render them as a sentence
and the next step. Messages never contain a secret.

    HatchwayError
    ├── ValidationFailed      400: one or more fields are invalid
    ├── NotFound              404: an environment, user or version does not exist
    ├── PreconditionFailed    412: If-Match no longer matches the current version
    ├── Conflict              409: the resource is in a state that does not allow the request
    ├── RateLimited           429: too many attempts; retry after `retry_after` seconds
    └── AccessDenied          403: the Provisioning Key is missing or wrong, or the API is off
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ValidationResult:
    """One problem with a request, in the shape of the Provisioning API's 400 responses."""

    member_names: tuple[str, ...]
    message: str

    def as_json(self) -> dict[str, object]:
        return {"MemberNames": list(self.member_names), "ErrorMessage": self.message}


class HatchwayError(Exception):
    """Base of every error a Hatchway service raises on purpose."""


class ValidationFailed(HatchwayError):
    def __init__(self, results: list[ValidationResult]) -> None:
        assert results, "ValidationFailed needs at least one result"
        super().__init__("; ".join(result.message for result in results))
        self.results = results

    @classmethod
    def single(cls, member: str, message: str) -> ValidationFailed:
        return cls([ValidationResult((member,) if member else (), message)])


class NotFound(HatchwayError):
    """`kind` names the error code ('{kind}NotFound'); `message` replaces the default sentence."""

    def __init__(
        self, kind: str, identifier: str, hint: str | None = None, *, message: str | None = None
    ) -> None:
        default = f"{kind} '{identifier}' was not found." + (f" {hint}" if hint else "")
        super().__init__(message or default)
        self.kind = kind
        self.identifier = identifier


class PreconditionFailed(HatchwayError):
    def __init__(self, expected: str, current: str) -> None:
        super().__init__(
            f"If-Match {expected} does not match the current version {current}; "
            "read the settings again and repeat the change if it still applies."
        )
        self.expected = expected
        self.current = current


class Conflict(HatchwayError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RateLimited(HatchwayError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AccessDenied(HatchwayError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Notices:
    """Non-fatal remarks a service returns with a success, such as 'whitespace was trimmed'."""

    items: list[ValidationResult] = field(default_factory=list)

    def add(self, member: str, message: str) -> None:
        self.items.append(ValidationResult((member,), message))
