"""The verification checks that ask the identity provider: Discovery, Jwks, ClientCredentials.

Every request goes through the guarded client of `hatchway.security.ssrf`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from typing import Any

import httpx

from hatchway.oidc.discovery import ProviderMetadata, discovery_url, parse_key_set, parse_metadata
from hatchway.oidc.errors import ProviderError
from hatchway.oidc.flow import ClientConfiguration, token_request
from hatchway.oidc.id_token import ALLOWED_ALGORITHMS, TENANT_TEMPLATE
from hatchway.security.ssrf import MIB, OutboundError, OutboundFailure, fetch_json
from hatchway.sso.authority import EntraAuthority, TenantKind, is_guid
from hatchway.sso.checks import CheckName, CheckResult, VerificationRequest, failed, passed
from hatchway.sso.entra_errors import EntraAdvice, find_advice, provider_description

# The tenant that Entra ID's 'consumers' Authority signs personal Microsoft accounts in with.
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
_ENTRA_V2_ISSUER = re.compile(r"^https://(?P<host>[^/]+)/(?P<tenant>[^/]+)/v2\.0$")
_ENTRA_V1_ISSUER = re.compile(r"^https://sts\.[a-z.]+/[0-9a-fA-F-]{36}/$")


@dataclass(frozen=True)
class DiscoveryOutcome:
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


# Endpoint paths that people paste after the issuer URL, such as Keycloak's
# '/protocol/openid-connect/auth' or '/oauth2/v2.0/token'.
_ENDPOINT_TAIL = re.compile(
    r"(?:/protocol/openid-connect|/oauth2(?:/v2\.0)?|/oauth|/connect)?"
    r"/(?:auth|authorize|token|userinfo|certs|jwks|keys|logout)/?$",
    re.IGNORECASE,
)
_ISSUER_URL_ADVICE = (
    "Check that the Authority is the provider's issuer URL, to which Hatchway appends "
    "'/.well-known/openid-configuration'."
)
_CONNECTION_ADVICE = (
    "Check the port in the Authority, that the provider is running, and that no firewall blocks "
    "connections from this server to it."
)
_FETCH_ADVICE = {
    OutboundFailure.UNRESOLVED: (
        "Check the host name in the Authority. If it is right, this server cannot look it up: a "
        "server without outbound network access cannot reach the provider at all."
    ),
    OutboundFailure.CONNECTION_REFUSED: _CONNECTION_ADVICE,
    OutboundFailure.CONNECTION_FAILED: _CONNECTION_ADVICE,
    OutboundFailure.CONNECT_TIMEOUT: _CONNECTION_ADVICE,
    OutboundFailure.READ_TIMEOUT: (
        "Check that the provider is running normally; HATCHWAY_HTTP_TIMEOUT sets how many "
        "seconds Hatchway waits."
    ),
    OutboundFailure.TLS: (
        "Check that the Authority's port serves https, and that the provider's certificate is "
        "valid for its host name and issued by a certificate authority this server trusts."
    ),
    OutboundFailure.REDIRECT: (
        "Hatchway does not follow redirects, so set the Authority to the provider's issuer URL "
        "itself."
    ),
    OutboundFailure.NOT_JSON: (
        "The Authority may name a web page, such as the provider's sign-in page, instead of its "
        "issuer URL. " + _ISSUER_URL_ADVICE
    ),
    OutboundFailure.TOO_LARGE: _ISSUER_URL_ADVICE,
    OutboundFailure.OTHER: _ISSUER_URL_ADVICE,
}


def _unreachable(url: str, error: OutboundError) -> str:
    message = f"The discovery document at {url!r} could not be fetched: {error.reason}."
    # The reason of a rejected destination already names the address and the setting involved.
    advice = _FETCH_ADVICE.get(error.failure)
    return f"{message} {advice}" if advice else message


def _fetch_failure(request: VerificationRequest, url: str, status: int, document: Any) -> str:
    advice = (
        find_advice(document, secret=request.client_secret, redirect_uri=request.redirect_uri)
        if isinstance(document, dict)
        else None
    )
    if advice is not None:
        return f"The discovery document at {url!r} was refused. {advice.message}"
    message = f"The discovery document at {url!r} returned HTTP {status} instead of 200. "
    if status >= 500:
        return message + "Check that the provider is running normally, or try again later."
    issuer = _ENDPOINT_TAIL.sub("", request.authority)
    if issuer != request.authority:
        return message + (
            f"The Authority ends with the path of one of the provider's endpoints; try its "
            f"issuer URL {issuer!r}, to which Hatchway appends '/.well-known/openid-configuration'."
        )
    return message + _ISSUER_URL_ADVICE


def check_discovery(http: httpx.Client, request: VerificationRequest) -> DiscoveryOutcome:
    url = discovery_url(request.authority)
    try:
        fetched = fetch_json(http, "GET", url, max_bytes=MIB)
    except OutboundError as error:
        return DiscoveryOutcome(failed(CheckName.DISCOVERY, _unreachable(url, error), "Authority"))
    if fetched.status_code != 200:
        message = _fetch_failure(request, url, fetched.status_code, fetched.document)
        return DiscoveryOutcome(failed(CheckName.DISCOVERY, message, "Authority"))
    try:
        metadata = parse_metadata(fetched.document, url)
    except ProviderError as error:
        return DiscoveryOutcome(failed(CheckName.DISCOVERY, error.message, "Authority"))

    problem, tenant_id = _issuer_problem(request, metadata.issuer)
    problem = problem or _signing_problem(metadata)
    if problem is not None:
        message = f"The discovery document at {url!r} {problem}."
        return DiscoveryOutcome(failed(CheckName.DISCOVERY, message, "Authority"))
    tenant = f" (tenant {tenant_id})" if tenant_id else ""
    return DiscoveryOutcome(
        passed(
            CheckName.DISCOVERY,
            f"The discovery document names the issuer {metadata.issuer!r}{tenant}, consistent "
            "with the Authority.",
        ),
        metadata,
        tenant_id,
    )


def check_jwks(http: httpx.Client, metadata: ProviderMetadata) -> CheckResult:
    uri = metadata.jwks_uri
    try:
        fetched = fetch_json(http, "GET", uri, max_bytes=MIB)
    except OutboundError as error:
        return failed(
            CheckName.JWKS,
            f"The JWKS at {uri!r} could not be fetched: {error.reason}.",
            "Authority",
        )
    if fetched.status_code != 200:
        return failed(
            CheckName.JWKS,
            f"The JWKS at {uri!r} answered HTTP {fetched.status_code} instead of 200.",
            "Authority",
        )
    try:
        keys = parse_key_set(fetched.document, uri)
    except ProviderError as error:
        return failed(CheckName.JWKS, error.message, "Authority")
    return passed(
        CheckName.JWKS, f"The JWKS at {uri!r} has {len(keys)} RSA signing key(s) for ID tokens."
    )


@dataclass(frozen=True)
class ProbeOutcome:
    check: CheckResult
    redirect_uri_failure: CheckResult | None = None


def _probe_form(request: VerificationRequest) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": "hatchway-verification-" + secrets.token_urlsafe(24),
        "redirect_uri": request.redirect_uri,
        "code_verifier": secrets.token_urlsafe(48),
    }


def _from_advice(advice: EntraAdvice) -> ProbeOutcome:
    if advice.check == CheckName.REDIRECT_URI:
        return ProbeOutcome(
            CheckResult(
                CheckName.CLIENT_CREDENTIALS,
                False,
                "Not confirmed, because Entra ID refused the redirect URI first (see the "
                "RedirectUri check).",
                (),
                True,
            ),
            failed(CheckName.REDIRECT_URI, advice.message, *advice.members),
        )
    return ProbeOutcome(failed(CheckName.CLIENT_CREDENTIALS, advice.message, *advice.members))


STORED_KEY_NOTE = (
    " No Key was given, so the stored Key was checked; give the Key again if the secret has "
    "changed or expired."
)


def check_client_credentials(
    http: httpx.Client, request: VerificationRequest, metadata: ProviderMetadata
) -> ProbeOutcome:
    """Send a deliberately invalid code to the token endpoint to learn whether it accepts the
    Client ID and the Key."""
    outcome = _probe_client_credentials(http, request, metadata)
    check = outcome.check
    if request.key_stored and not check.passed and not check.skipped and "Key" in check.members:
        outcome = replace(outcome, check=replace(check, message=check.message + STORED_KEY_NOTE))
    return outcome


def _probe_client_credentials(
    http: httpx.Client, request: VerificationRequest, metadata: ProviderMetadata
) -> ProbeOutcome:
    client = ClientConfiguration(
        authority=request.authority,
        client_id=request.client_id,
        client_secret=request.client_secret,
        redirect_uri=request.redirect_uri,
    )
    try:
        status, document = token_request(http, metadata, client, _probe_form(request))
    except ProviderError as error:
        return ProbeOutcome(failed(CheckName.CLIENT_CREDENTIALS, error.message, "Authority"))

    advice = find_advice(document, secret=request.client_secret, redirect_uri=request.redirect_uri)
    if advice is not None and advice.known:
        return _from_advice(advice)
    error_code = str(document.get("error", "")).strip()
    if status == 200 or error_code == "invalid_grant":
        return ProbeOutcome(
            passed(
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
        if advice is not None:
            message += f": {advice.message}"
        else:
            message += (
                f" ({answer}). Check that the Client ID is the one the provider registered and "
                "that the Key is the client secret's current value."
            )
        if is_guid(request.client_secret):
            message += (
                " The Key is shaped like a GUID: paste the secret's Value, not its Secret ID."
            )
        return ProbeOutcome(failed(CheckName.CLIENT_CREDENTIALS, message, "ClientId", "Key"))
    detail = advice.message if advice is not None else f"'{answer}'"
    return ProbeOutcome(
        failed(
            CheckName.CLIENT_CREDENTIALS,
            f"The token endpoint answered a test exchange with {detail}, where Hatchway expected "
            "invalid_client or invalid_grant, so the Client ID and the Key could not be "
            "confirmed.",
            "ClientId",
            "Key",
        )
    )
