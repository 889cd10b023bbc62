"""Verification of SSO settings against the identity provider, before anything is saved.

The checks, each reported with its name, whether it passed and a sentence:

- Authority: what kind of Authority it is (the static checks already refused broken ones);
- KeyFormat: whether the Key looks like a client secret's Value (a GUID is likely its Secret ID);
- Discovery: the discovery document is fetched and its ``issuer`` matches the Authority. For an
  Entra ID tenant given by domain, the issuer names the tenant's GUID, returned as TenantId;
- Jwks: the signing keys are fetched and contain an RSA key;
- ClientCredentials: the token endpoint receives an authorization code that cannot be valid.
  Providers authenticate the client before they look at the code, so ``invalid_client`` means
  the Client ID or the Key is wrong and ``invalid_grant`` means both were accepted;
- RedirectUri: the exact redirect URI to register, and whether the provider refused it.

Every request goes through the guarded client of `hatchway.security.ssrf`. Callers run this
outside any database transaction, because it waits on the network.
"""

from __future__ import annotations

import enum
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from hatchway.config import is_loopback_host
from hatchway.errors import ValidationResult
from hatchway.oidc.discovery import ProviderMetadata, discovery_url, parse_key_set, parse_metadata
from hatchway.oidc.errors import ProviderError
from hatchway.oidc.flow import ClientConfiguration, token_request
from hatchway.oidc.id_token import ALLOWED_ALGORITHMS, TENANT_TEMPLATE
from hatchway.security.ssrf import MIB, OutboundError, fetch_json
from hatchway.sso.authority import EntraAuthority, TenantKind, is_guid
from hatchway.sso.entra_errors import EntraAdvice, find_advice, provider_description
from hatchway.sso.service import GUID_KEY_NOTICE

logger = logging.getLogger(__name__)

# The tenant that Entra ID's 'consumers' Authority signs personal Microsoft accounts in with.
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
_ENTRA_V2_ISSUER = re.compile(r"^https://(?P<host>[^/]+)/(?P<tenant>[^/]+)/v2\.0$")
_ENTRA_V1_ISSUER = re.compile(r"^https://sts\.[a-z.]+/[0-9a-fA-F-]{36}/$")


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

    def as_json(self) -> dict[str, Any]:
        return {"Name": self.name.value, "Passed": self.passed, "Message": self.message}


@dataclass(frozen=True)
class VerificationRequest:
    """The values to verify, already through the static checks, with the clear Key."""

    authority: str
    entra: EntraAuthority | None
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str


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


def _passed(name: CheckName, message: str) -> CheckResult:
    return CheckResult(name, True, message)


def _failed(name: CheckName, message: str, *members: str) -> CheckResult:
    return CheckResult(name, False, message, members)


def _skipped(name: CheckName, because: CheckName) -> CheckResult:
    return CheckResult(name, False, f"Not checked, because the {because} check failed.", (), True)


# Authority and KeyFormat


def check_authority_kind(request: VerificationRequest) -> CheckResult:
    entra = request.entra
    if entra is None:
        return _passed(
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
    return _passed(
        CheckName.AUTHORITY,
        f"Authority {request.authority!r} is the Microsoft Entra ID v2.0 endpoint on "
        f"{entra.host} for {tenants[entra.kind]}.",
    )


def check_key_format(request: VerificationRequest) -> CheckResult:
    if is_guid(request.client_secret):
        return _passed(CheckName.KEY_FORMAT, GUID_KEY_NOTICE)
    return _passed(
        CheckName.KEY_FORMAT,
        "Key is printable ASCII and not shaped like a Secret ID (a GUID).",
    )


# Discovery


@dataclass(frozen=True)
class _Discovery:
    check: CheckResult
    metadata: ProviderMetadata | None = None
    tenant_id: str | None = None


def _entra_issuer_problem(entra: EntraAuthority, issuer: str) -> tuple[str | None, str | None]:
    """Compare an Entra ID discovery issuer with the Authority; return (problem, tenant GUID)."""
    if _ENTRA_V1_ISSUER.match(issuer):
        return (
            f"names the v1.0 issuer {issuer!r}, but Hatchway needs the v2.0 endpoint; the "
            f"Authority must end in '/v2.0', as {entra.url!r} does",
            None,
        )
    match = _ENTRA_V2_ISSUER.match(issuer)
    if match is None:
        return f"names issuer {issuer!r}, which is not an Entra ID v2.0 issuer", None
    if match.group("host").lower() != entra.host:
        return (
            f"names issuer {issuer!r} on another host than the Authority's {entra.host!r}",
            None,
        )
    tenant = match.group("tenant")
    if entra.kind is TenantKind.MULTI_TENANT:
        if tenant != TENANT_TEMPLATE:
            return f"names issuer {issuer!r}, expected the template '{TENANT_TEMPLATE}'", None
        return None, None
    if not is_guid(tenant):
        return f"names issuer {issuer!r}, whose tenant is not a GUID", None
    tenant = tenant.lower()
    expected = {
        TenantKind.DIRECTORY_ID: entra.tenant,
        TenantKind.CONSUMERS: CONSUMERS_TENANT_ID,
    }.get(entra.kind)
    if expected is not None and tenant != expected:
        return f"names issuer {issuer!r} of tenant {tenant}, not of tenant {expected}", None
    return None, tenant


def _issuer_problem(request: VerificationRequest, issuer: str) -> tuple[str | None, str | None]:
    if request.entra is not None:
        return _entra_issuer_problem(request.entra, issuer)
    # OpenID Connect Discovery 1.0, section 4.3: the issuer must be identical to the URL the
    # document was fetched under, minus '/.well-known/openid-configuration'.
    if issuer.rstrip("/") != request.authority.rstrip("/"):
        return (
            f"names issuer {issuer!r}, which differs from the Authority; OpenID Connect requires "
            f"them to be identical, so set the Authority to {issuer!r}",
            None,
        )
    return None, None


def _signing_problem(metadata: ProviderMetadata) -> str | None:
    algorithms = metadata.raw.get("id_token_signing_alg_values_supported")
    if not isinstance(algorithms, list) or any(a in ALLOWED_ALGORITHMS for a in algorithms):
        return None
    return (
        f"says ID tokens are signed with {', '.join(map(str, algorithms))}, but Hatchway accepts "
        f"only {', '.join(ALLOWED_ALGORITHMS)}; configure the provider to sign ID tokens with RS256"
    )


def _fetch_failure(request: VerificationRequest, url: str, status: int, document: Any) -> str:
    advice = (
        find_advice(document, secret=request.client_secret, redirect_uri=request.redirect_uri)
        if isinstance(document, dict)
        else None
    )
    if advice is not None:
        return f"The discovery document at {url!r} was refused. {advice.message}"
    return (
        f"The discovery document at {url!r} answered HTTP {status} instead of 200; check that the "
        "Authority is the provider's issuer URL."
    )


def check_discovery(http: httpx.Client, request: VerificationRequest) -> _Discovery:
    url = discovery_url(request.authority)
    try:
        fetched = fetch_json(http, "GET", url, max_bytes=MIB)
    except OutboundError as error:
        return _Discovery(
            _failed(
                CheckName.DISCOVERY,
                f"The discovery document at {url!r} could not be fetched: {error.reason}. Check "
                "the Authority's host name.",
                "Authority",
            )
        )
    if fetched.status_code != 200:
        message = _fetch_failure(request, url, fetched.status_code, fetched.document)
        return _Discovery(_failed(CheckName.DISCOVERY, message, "Authority"))
    try:
        metadata = parse_metadata(fetched.document, url)
    except ProviderError as error:
        return _Discovery(_failed(CheckName.DISCOVERY, error.message, "Authority"))

    problem, tenant_id = _issuer_problem(request, metadata.issuer)
    problem = problem or _signing_problem(metadata)
    if problem is not None:
        message = f"The discovery document at {url!r} {problem}."
        return _Discovery(_failed(CheckName.DISCOVERY, message, "Authority"))
    tenant = f" (tenant {tenant_id})" if tenant_id else ""
    return _Discovery(
        _passed(
            CheckName.DISCOVERY,
            f"The discovery document names the issuer {metadata.issuer!r}{tenant}, consistent "
            "with the Authority.",
        ),
        metadata,
        tenant_id,
    )


# Jwks


def check_jwks(http: httpx.Client, metadata: ProviderMetadata) -> CheckResult:
    uri = metadata.jwks_uri
    try:
        fetched = fetch_json(http, "GET", uri, max_bytes=MIB)
    except OutboundError as error:
        return _failed(
            CheckName.JWKS,
            f"The JWKS at {uri!r} could not be fetched: {error.reason}.",
            "Authority",
        )
    if fetched.status_code != 200:
        return _failed(
            CheckName.JWKS,
            f"The JWKS at {uri!r} answered HTTP {fetched.status_code} instead of 200.",
            "Authority",
        )
    try:
        keys = parse_key_set(fetched.document, uri)
    except ProviderError as error:
        return _failed(CheckName.JWKS, error.message, "Authority")
    return _passed(
        CheckName.JWKS, f"The JWKS at {uri!r} has {len(keys)} RSA signing key(s) for ID tokens."
    )


# ClientCredentials and RedirectUri


@dataclass(frozen=True)
class _Probe:
    check: CheckResult
    redirect_uri_failure: CheckResult | None = None


def _probe_form(request: VerificationRequest) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": "hatchway-verification-" + secrets.token_urlsafe(24),
        "redirect_uri": request.redirect_uri,
        "code_verifier": secrets.token_urlsafe(48),
    }


def _from_advice(advice: EntraAdvice) -> _Probe:
    if advice.check == CheckName.REDIRECT_URI:
        return _Probe(
            CheckResult(
                CheckName.CLIENT_CREDENTIALS,
                False,
                "Not confirmed, because Entra ID refused the redirect URI first (see the "
                "RedirectUri check).",
                (),
                True,
            ),
            _failed(CheckName.REDIRECT_URI, advice.message, *advice.members),
        )
    return _Probe(_failed(CheckName.CLIENT_CREDENTIALS, advice.message, *advice.members))


def check_client_credentials(
    http: httpx.Client, request: VerificationRequest, metadata: ProviderMetadata
) -> _Probe:
    client = ClientConfiguration(
        authority=request.authority,
        client_id=request.client_id,
        client_secret=request.client_secret,
        redirect_uri=request.redirect_uri,
    )
    try:
        status, document = token_request(http, metadata, client, _probe_form(request))
    except ProviderError as error:
        return _Probe(_failed(CheckName.CLIENT_CREDENTIALS, error.message, "Authority"))

    advice = find_advice(document, secret=request.client_secret, redirect_uri=request.redirect_uri)
    if advice is not None and advice.known:
        return _from_advice(advice)
    error_code = str(document.get("error", "")).strip()
    if status == 200 or error_code == "invalid_grant":
        return _Probe(
            _passed(
                CheckName.CLIENT_CREDENTIALS,
                "The token endpoint accepted the Client ID and the Key (it refused only the "
                "deliberately invalid authorization code Hatchway sent).",
            )
        )

    description = provider_description(document, request.client_secret)
    answer = error_code or f"HTTP {status}"
    answer += f": {description}" if description else ""
    if error_code in ("invalid_client", "unauthorized_client") or status == 401:
        message = "The token endpoint rejected the Client ID or the Key"
        message += f": {advice.message}" if advice is not None else f" ({answer})."
        if is_guid(request.client_secret):
            message += (
                " The Key is shaped like a GUID: paste the secret's Value, not its Secret ID."
            )
        return _Probe(_failed(CheckName.CLIENT_CREDENTIALS, message, "ClientId", "Key"))
    detail = advice.message if advice is not None else f"'{answer}'"
    return _Probe(
        _failed(
            CheckName.CLIENT_CREDENTIALS,
            f"The token endpoint answered a test exchange with {detail}, where Hatchway expected "
            "invalid_client or invalid_grant, so the Client ID and the Key could not be "
            "confirmed.",
            "ClientId",
            "Key",
        )
    )


def check_redirect_uri(request: VerificationRequest, probe: _Probe | None) -> CheckResult:
    if probe is not None and probe.redirect_uri_failure is not None:
        return probe.redirect_uri_failure
    parts = urlsplit(request.redirect_uri)
    if (
        request.entra is not None
        and parts.scheme == "http"
        and not is_loopback_host(parts.hostname or "")
    ):
        return _failed(
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
    return _passed(
        CheckName.REDIRECT_URI,
        f"Register this exact redirect URI{where}: {request.redirect_uri!r}.",
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
    probe: _Probe | None = None
    if discovery.metadata is None:
        checks.append(_skipped(CheckName.JWKS, CheckName.DISCOVERY))
        checks.append(_skipped(CheckName.CLIENT_CREDENTIALS, CheckName.DISCOVERY))
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
            return _passed(name, fallback)
        members = tuple(dict.fromkeys(m for item in items for m in item.member_names))
        return _failed(name, " ".join(item.message for item in items), *members)

    authority_check = combined(
        other_errors, CheckName.AUTHORITY, "Authority and ClientId are valid."
    )
    key_check = combined(key_errors, CheckName.KEY_FORMAT, "Key is printable ASCII.")
    failed = CheckName.AUTHORITY if other_errors else CheckName.KEY_FORMAT
    checks = (
        authority_check,
        key_check,
        _skipped(CheckName.DISCOVERY, failed),
        _skipped(CheckName.JWKS, failed),
        _skipped(CheckName.CLIENT_CREDENTIALS, failed),
        _skipped(CheckName.REDIRECT_URI, failed),
    )
    return VerificationReport(authority, None, redirect_uri, checks)
