"""Verification of SSO settings against the identity provider, before anything is saved.

The checks, each reported with its name, whether it passed and a sentence:

- Authority: what kind of Authority it is (the static checks already refused broken ones);
- KeyFormat: whether the Key looks like a client secret's Value (a GUID is likely its Secret ID);
- Discovery: the discovery document is fetched and its ``issuer`` matches the Authority. For an
  Entra ID tenant given by domain, the issuer names the tenant's GUID, returned as TenantId;
- Jwks: the signing keys are fetched and contain an RSA key;
- ClientCredentials: the token endpoint receives an authorization code that cannot be valid.
  Entra ID and node-oidc-provider authenticate the client before they look at the code, so
  ``invalid_client`` means the Client ID or the Key is wrong and ``invalid_grant`` means both
  were accepted. A provider that checks the code first would pass this check with a wrong Key;
- RedirectUri: the exact redirect URI to register, and whether the provider refused it.

Every request goes through the guarded client of `hatchway.security.ssrf`. Callers run this
outside any database transaction, because it waits on the network.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

from hatchway.config import is_loopback_host
from hatchway.errors import ValidationResult
from hatchway.sso.authority import TenantKind, is_guid
from hatchway.sso.checks import (
    CheckName,
    CheckResult,
    VerificationReport,
    VerificationRequest,
    failed,
    passed,
    passed_with_warning,
    skipped,
)
from hatchway.sso.provider_checks import (
    ProbeOutcome,
    check_client_credentials,
    check_discovery,
    check_jwks,
)
from hatchway.sso.validation import GUID_KEY_NOTICE

__all__ = ["VerificationReport", "VerificationRequest", "report_for_invalid_settings", "verify"]

logger = logging.getLogger(__name__)


def check_authority_kind(request: VerificationRequest) -> CheckResult:
    entra = request.entra
    if entra is None:
        return passed(
            CheckName.AUTHORITY,
            f"Authority {request.authority!r} is used as given, as the provider's OpenID Connect "
            "issuer URL.",
        )
    tenants = {
        TenantKind.DIRECTORY_ID: f"the tenant with Directory ID {entra.tenant}",
        TenantKind.DOMAIN: f"the tenant with the domain {entra.tenant!r}",
        TenantKind.MULTI_TENANT: f"accounts of any organization ('{entra.tenant}')",
        TenantKind.CONSUMERS: "personal Microsoft accounts ('consumers')",
    }
    return passed(
        CheckName.AUTHORITY,
        f"Authority {request.authority!r} is the Microsoft Entra ID v2.0 endpoint on "
        f"{entra.host} for {tenants[entra.kind]}.",
    )


def check_key_format(request: VerificationRequest) -> CheckResult:
    if is_guid(request.client_secret):
        return passed_with_warning(CheckName.KEY_FORMAT, GUID_KEY_NOTICE)
    return passed(
        CheckName.KEY_FORMAT,
        "Key is printable ASCII and not shaped like a Secret ID (a GUID).",
    )


def check_redirect_uri(request: VerificationRequest, probe: ProbeOutcome | None) -> CheckResult:
    if probe is not None and probe.redirect_uri_failure is not None:
        return probe.redirect_uri_failure
    parts = urlsplit(request.redirect_uri)
    if (
        request.entra is not None
        and parts.scheme == "http"
        and not is_loopback_host(parts.hostname or "")
    ):
        return failed(
            CheckName.REDIRECT_URI,
            f"Entra ID accepts http redirect URIs only for localhost, so {request.redirect_uri!r} "
            "cannot be registered; serve Hatchway over https and set HATCHWAY_PUBLIC_URL to "
            "that address.",
            "RedirectUri",
        )
    where = (
        " in the app registration (Authentication, platform 'Web')"
        if request.entra is not None
        else " at the identity provider"
    )
    # The provider does not publish its registered redirect URIs, so this check passes with a
    # warning: a missing registration shows only at sign-in, which Test sign-in tries.
    return passed_with_warning(
        CheckName.REDIRECT_URI,
        f"Register this exact redirect URI{where}: {request.redirect_uri!r}. The provider "
        "does not show its list, so only a sign-in (Test sign-in on the single sign-on page) "
        "proves it is registered.",
    )


def verify(
    http: httpx.Client,
    request: VerificationRequest,
    *,
    notices: Sequence[ValidationResult] = (),
) -> VerificationReport:
    """Run every check against the identity provider; saves nothing."""
    checks = [check_authority_kind(request), check_key_format(request)]
    discovery = check_discovery(http, request)
    checks.append(discovery.check)
    probe: ProbeOutcome | None = None
    if discovery.metadata is None:
        checks.append(skipped(CheckName.JWKS, CheckName.DISCOVERY))
        checks.append(skipped(CheckName.CLIENT_CREDENTIALS, CheckName.DISCOVERY))
    else:
        checks.append(check_jwks(http, discovery.metadata))
        probe = check_client_credentials(http, request, discovery.metadata)
        checks.append(probe.check)
    checks.append(check_redirect_uri(request, probe))

    report = VerificationReport(
        authority=request.authority,
        tenant_id=discovery.tenant_id,
        redirect_uri=request.redirect_uri,
        checks=tuple(checks),
        notices=tuple(notices),
    )
    logger.info(
        "sso.verification.done authority=%s passed=%s failed=%s",
        request.authority,
        report.passed,
        ",".join(report.failed_names()) or "-",
    )
    return report


def report_for_invalid_settings(
    authority: str,
    redirect_uri: str,
    errors: Sequence[ValidationResult],
) -> VerificationReport:
    """Report stored settings that fail the static checks, without contacting the provider."""
    key_errors = [error for error in errors if "Key" in error.member_names]
    other_errors = [error for error in errors if "Key" not in error.member_names]

    def combined(items: list[ValidationResult], name: CheckName, fallback: str) -> CheckResult:
        if not items:
            return passed(name, fallback)
        members = tuple(dict.fromkeys(m for item in items for m in item.member_names))
        return failed(name, " ".join(item.message for item in items), *members)

    authority_check = combined(
        other_errors, CheckName.AUTHORITY, "Authority and ClientId are valid."
    )
    key_check = combined(key_errors, CheckName.KEY_FORMAT, "Key is printable ASCII.")
    first_failed = CheckName.AUTHORITY if other_errors else CheckName.KEY_FORMAT
    checks = (
        authority_check,
        key_check,
        skipped(CheckName.DISCOVERY, first_failed),
        skipped(CheckName.JWKS, first_failed),
        skipped(CheckName.CLIENT_CREDENTIALS, first_failed),
        skipped(CheckName.REDIRECT_URI, first_failed),
    )
    return VerificationReport(authority, None, redirect_uri, checks)
