"""The OpenID Connect authorization code flow with PKCE, as a relying party.

`start_sign_in` builds the authorization request and the attempt (state, nonce, PKCE verifier)
that the browser keeps in a short-lived cookie of its own. `complete_sign_in` exchanges the code
and validates the ID token. Neither touches the database; `hatchway.web` binds the result to a
user and a session.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from hatchway.oidc.discovery import ProviderDirectory, ProviderMetadata
from hatchway.oidc.errors import ProviderError, SignInError, SignInFailure
from hatchway.oidc.id_token import IdTokenExpectations, check_claims, verify_signature
from hatchway.security.ssrf import OutboundError, fetch_json

logger = logging.getLogger(__name__)

SCOPES = "openid profile email"


@dataclass(frozen=True)
class ClientConfiguration:
    """What the relying party needs of an environment's SSO settings, with the clear Key."""

    authority: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    allowed_tenants: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignInAttempt:
    """State of one sign-in attempt, kept sealed in the browser until the callback.

    `test_run_id` is set for a test sign-in from the SSO page, which runs with staged values
    and must not start a session.
    """

    state: str
    nonce: str
    code_verifier: str
    return_to: str
    sso_version: int
    test_run_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "s": self.state,
            "n": self.nonce,
            "v": self.code_verifier,
            "r": self.return_to,
            "sv": self.sso_version,
        }
        if self.test_run_id is not None:
            data["tr"] = self.test_run_id
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignInAttempt:
        test_run_id = data.get("tr")
        return cls(
            state=str(data["s"]),
            nonce=str(data["n"]),
            code_verifier=str(data["v"]),
            return_to=str(data["r"]),
            sso_version=int(data["sv"]),
            test_run_id=int(test_run_id) if test_run_id is not None else None,
        )


@dataclass(frozen=True)
class SignedInIdentity:
    """The person who signed in: the pair a user is bound to and the token's claims."""

    issuer: str
    subject: str
    claims: dict[str, Any]


ENTRA_TENANT_PREFIX = "entra-tenant:"
EMAIL_CLAIMS = ("email", "preferred_username", "upn")


def identity_of(claims: dict[str, Any]) -> SignedInIdentity:
    """Identify the person by Entra ID's `tid` and `oid` when the token has both, else `iss`+`sub`.

    `oid` is the same for one person in every app of a tenant, while `sub` differs per app, so a
    user stays bound after the app registration or the Authority's form changes. The pair is used
    only when the issuer names the same tenant, as Entra ID's v1.0 and v2.0 issuers do.
    """
    tenant = claims.get("tid")
    object_id = claims.get("oid")
    issuer = str(claims["iss"])
    if (
        isinstance(tenant, str)
        and isinstance(object_id, str)
        and tenant
        and object_id
        and f"/{tenant.lower()}/" in f"{issuer.lower()}/"
    ):
        return SignedInIdentity(f"{ENTRA_TENANT_PREFIX}{tenant.lower()}", object_id.lower(), claims)
    return SignedInIdentity(issuer=issuer, subject=str(claims["sub"]), claims=claims)


def has_email_claim(claims: dict[str, Any]) -> bool:
    return any(isinstance(claims.get(name), str) and "@" in claims[name] for name in EMAIL_CLAIMS)


def _code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _metadata(directory: ProviderDirectory, authority: str) -> ProviderMetadata:
    try:
        return directory.metadata(authority)
    except ProviderError as error:
        raise SignInError(
            SignInFailure.DISCOVERY_FAILED,
            f"The identity provider could not be reached: {error.message}",
            "An administrator should check the Authority in the single sign-on settings.",
        ) from None


def start_sign_in(
    directory: ProviderDirectory,
    client: ClientConfiguration,
    return_to: str,
    sso_version: int,
    *,
    prompt: str | None = None,
) -> tuple[str, SignInAttempt]:
    """Return the authorization URL to redirect to and the attempt to keep until the callback.

    `prompt` is OpenID Connect's prompt parameter; "login" makes the provider ask for the
    credentials even when the browser already has a session there.
    """
    metadata = _metadata(directory, client.authority)
    attempt = SignInAttempt(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(48),
        return_to=return_to,
        sso_version=sso_version,
    )
    parameters = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": SCOPES,
        "state": attempt.state,
        "nonce": attempt.nonce,
        "code_challenge": _code_challenge(attempt.code_verifier),
        "code_challenge_method": "S256",
        "response_mode": "query",
    }
    if prompt is not None:
        parameters["prompt"] = prompt
    query = urlencode(parameters, quote_via=quote)
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}", attempt


def _client_authentication(
    metadata: ProviderMetadata, client: ClientConfiguration
) -> tuple[dict[str, str], dict[str, str]]:
    """Return the form fields and headers that authenticate the client at the token endpoint."""
    if "client_secret_basic" in metadata.token_endpoint_auth_methods:
        # RFC 6749 section 2.3.1: both parts are form-encoded before the Basic encoding.
        credentials = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
        token = base64.b64encode(credentials.encode("utf-8")).decode("ascii")
        return {}, {"Authorization": f"Basic {token}"}
    return {"client_id": client.client_id, "client_secret": client.client_secret}, {}


def token_request(
    http: httpx.Client,
    metadata: ProviderMetadata,
    client: ClientConfiguration,
    form: dict[str, str],
) -> tuple[int, dict[str, Any]]:
    """POST a grant to the token endpoint with client authentication; return status and JSON."""
    auth_fields, headers = _client_authentication(metadata, client)
    try:
        fetched = fetch_json(
            http,
            "POST",
            metadata.token_endpoint,
            data={**form, **auth_fields},
            headers={**headers, "Accept": "application/json"},
        )
    except OutboundError as error:
        raise ProviderError(f"The token endpoint could not be reached: {error.reason}.") from None
    document = fetched.document if isinstance(fetched.document, dict) else {}
    return fetched.status_code, document


def _exchange_code(
    http: httpx.Client,
    metadata: ProviderMetadata,
    client: ClientConfiguration,
    code: str,
    attempt: SignInAttempt,
) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": attempt.code_verifier,
    }
    try:
        status, document = token_request(http, metadata, client, form)
    except ProviderError as error:
        raise SignInError(SignInFailure.TOKEN_EXCHANGE_FAILED, error.message) from None

    if status == 200 and isinstance(document.get("id_token"), str):
        return document
    error_code = str(document.get("error", f"HTTP {status}"))
    description = str(document.get("error_description", "")).strip()
    detail = f"{error_code}: {description}" if description else error_code
    if error_code in ("invalid_client", "unauthorized_client"):
        raise SignInError(
            SignInFailure.CLIENT_REJECTED,
            "The identity provider did not accept this environment's Client ID and Key "
            f"({detail}).",
            "An administrator must correct the Key (the client secret's Value) or the Client ID "
            "in the single sign-on settings.",
        )
    raise SignInError(
        SignInFailure.TOKEN_EXCHANGE_FAILED,
        f"The identity provider refused to exchange the authorization code ({detail}).",
        "Start the sign-in again; if it fails again, an administrator should verify the single "
        "sign-on settings.",
    )


def _fetch_userinfo(
    http: httpx.Client, metadata: ProviderMetadata, access_token: str, subject: str
) -> dict[str, Any]:
    assert metadata.userinfo_endpoint is not None
    try:
        fetched = fetch_json(
            http,
            "GET",
            metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
    except OutboundError as error:
        logger.warning("oidc.userinfo.failed reason=%s", error.reason)
        return {}
    document = fetched.document if isinstance(fetched.document, dict) else {}
    if fetched.status_code != 200 or document.get("sub") != subject:
        logger.warning("oidc.userinfo.ignored status=%d", fetched.status_code)
        return {}
    return document


def complete_sign_in(
    directory: ProviderDirectory,
    http: httpx.Client,
    client: ClientConfiguration,
    attempt: SignInAttempt,
    *,
    code: str,
    issuer_parameter: str | None,
    now: datetime,
    leeway_seconds: int,
) -> SignedInIdentity:
    """Exchange the code, validate the ID token and return who signed in."""
    metadata = _metadata(directory, client.authority)
    if issuer_parameter is not None and issuer_parameter != metadata.issuer:
        # RFC 9207: the authorization response names its issuer, which must be ours.
        raise SignInError(
            SignInFailure.ISSUER_MISMATCH,
            f"The sign-in response came from issuer {issuer_parameter!r}, not from "
            f"{metadata.issuer!r} of this environment's Authority.",
        )

    tokens = _exchange_code(http, metadata, client, code, attempt)
    claims = verify_signature(
        str(tokens["id_token"]), lambda kid: directory.signing_key(metadata.jwks_uri, kid)
    )
    check_claims(
        claims,
        IdTokenExpectations(
            issuer=metadata.issuer,
            client_id=client.client_id,
            nonce=attempt.nonce,
            now=now,
            leeway_seconds=leeway_seconds,
            allowed_tenants=client.allowed_tenants,
        ),
    )

    access_token = tokens.get("access_token")
    if not has_email_claim(claims) and metadata.userinfo_endpoint and isinstance(access_token, str):
        userinfo = _fetch_userinfo(http, metadata, access_token, str(claims["sub"]))
        claims = {**userinfo, **claims}
    return identity_of(claims)
