"""The model of a verification: the checks, their outcomes and the report.

See `hatchway.sso.verification` for what each check does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from hatchway.errors import ValidationResult
from hatchway.sso.authority import EntraAuthority


class CheckName(enum.StrEnum):
    AUTHORITY = "Authority"
    KEY_FORMAT = "KeyFormat"
    DISCOVERY = "Discovery"
    JWKS = "Jwks"
    CLIENT_CREDENTIALS = "ClientCredentials"
    REDIRECT_URI = "RedirectUri"


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome, with the settings to correct (`members`) when it failed.

    A skipped check did not run because an earlier one failed. It counts as not passed, but it
    is not reported as a problem of its own.
    """

    name: CheckName
    passed: bool
    message: str
    members: tuple[str, ...] = ()
    skipped: bool = False
    warning: bool = False

    @property
    def outcome(self) -> str:
        """Return Passed, Warning (passed, but read the message), Failed or NotChecked."""
        if self.passed:
            return "Warning" if self.warning else "Passed"
        return "NotChecked" if self.skipped else "Failed"

    def as_json(self) -> dict[str, Any]:
        return {
            "Name": self.name.value,
            "Passed": self.passed,
            "Outcome": self.outcome,
            "Message": self.message,
        }


@dataclass(frozen=True)
class VerificationRequest:
    """The values to verify, already through the static checks, with the clear Key."""

    authority: str
    entra: EntraAuthority | None
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    # True when the request sent no Key, so the stored Key is the one checked.
    key_stored: bool = False


@dataclass(frozen=True)
class VerificationReport:
    authority: str
    tenant_id: str | None
    redirect_uri: str
    checks: tuple[CheckResult, ...]
    notices: tuple[ValidationResult, ...] = ()

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def failures(self) -> list[ValidationResult]:
        """Return one validation result per failed check, naming the settings to correct."""
        return [
            ValidationResult(check.members, check.message)
            for check in self.checks
            if not check.passed and not check.skipped
        ]

    def warning_names(self) -> list[str]:
        return [check.name.value for check in self.checks if check.outcome == "Warning"]

    @property
    def has_warnings(self) -> bool:
        return bool(self.warning_names())

    def failed_names(self) -> list[str]:
        return [check.name.value for check in self.checks if not check.passed and not check.skipped]

    def as_json(self) -> dict[str, Any]:
        return {
            "Passed": self.passed,
            "Authority": self.authority,
            "TenantId": self.tenant_id,
            "RedirectUri": self.redirect_uri,
            "Checks": [check.as_json() for check in self.checks],
            "Notices": [notice.as_json() for notice in self.notices],
        }


def passed(name: CheckName, message: str) -> CheckResult:
    return CheckResult(name, True, message)


def passed_with_warning(name: CheckName, message: str) -> CheckResult:
    return CheckResult(name, True, message, warning=True)


def failed(name: CheckName, message: str, *members: str) -> CheckResult:
    return CheckResult(name, False, message, members)


def skipped(name: CheckName, because: CheckName) -> CheckResult:
    return CheckResult(name, False, f"Not checked, because the {because} check failed.", (), True)
