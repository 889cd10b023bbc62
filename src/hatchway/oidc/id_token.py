"""ID token validation: RS256 signature by `kid`, then `iss`, `aud`, `exp`, `iat`, `nbf`, `nonce`.

The claims are checked here rather than by a generic registry so that every refusal names the
expected and the received value and says what to change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import RSAKey

from hatchway.oidc.errors import ProviderError, SignInError, SignInFailure

ALLOWED_ALGORITHMS = ("RS256",)
TENANT_TEMPLATE = "{tenantid}"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# Entra ID v1.0 tokens name the tenant on the security token service's host, v2.0 tokens on the
# sign-in host: 'https://sts.windows.net/<tid>/' against 'https://login.microsoftonline.com/<tid>/v2.0'.
_ENTRA_V1_ISSUER = re.compile(r"^https://sts\.[a-z.]+/(?P<tenant>[0-9a-fA-F-]{36})/$")
_ENTRA_V2_ISSUER = re.compile(r"^https://(?P<host>[^/]+)/(?P<tenant>[^/]+)/v2\.0$")


@dataclass(frozen=True)
class IdTokenExpectations:
    issuer: str
    client_id: str
    nonce: str
    now: datetime
    leeway_seconds: int = 120
    allowed_tenants: tuple[str, ...] = ()


def _invalid(message: str, hint: str | None = None) -> SignInError:
    return SignInError(SignInFailure.ID_TOKEN_INVALID, message, hint)


def read_header(id_token: str) -> dict[str, Any]:
    """Decode the protected header without verifying anything."""
    try:
        compact = jws.extract_compact(id_token.encode("ascii"))
    except (JoseError, ValueError, UnicodeEncodeError):
        raise _invalid(
            "The identity provider returned an ID token that is not a signed JWT."
        ) from None
    return dict(compact.headers())


def expected_issuer(template: str, claims: dict[str, Any]) -> str:
    """Fill a multi-tenant issuer template ('{tenantid}') with the token's signed `tid`."""
    if TENANT_TEMPLATE not in template:
        return template
    tenant = claims.get("tid")
    if not isinstance(tenant, str) or not _GUID.match(tenant):
        raise _invalid(
            f"The provider's issuer '{template}' depends on the tenant, but the ID token has no "
            f"'tid' claim holding a tenant GUID (got {tenant!r})."
        )
    return template.replace(TENANT_TEMPLATE, tenant.lower())


def verify_signature(id_token: str, key_for: Callable[[str | None], RSAKey]) -> dict[str, Any]:
    """Check the RS256 signature with the key its `kid` names and return the claims."""
    header = read_header(id_token)
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise _invalid(
            f"The ID token is signed with algorithm {algorithm!r}; Hatchway accepts only "
            f"{', '.join(ALLOWED_ALGORITHMS)}. Configure the provider to sign ID tokens with RS256."
        )
    kid = header.get("kid")
    try:
        key = key_for(str(kid) if kid is not None else None)
    except ProviderError as error:
        raise _invalid(error.message) from None
    try:
        verified = jws.deserialize_compact(id_token, key, algorithms=list(ALLOWED_ALGORITHMS))
    except BadSignatureError:
        raise _invalid(
            "The ID token's signature does not verify with the provider's published key."
        ) from None
    except (JoseError, ValueError):
        raise _invalid("The ID token could not be verified.") from None
    try:
        claims = json.loads(verified.payload)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("The ID token's payload is not JSON.") from None
    if not isinstance(claims, dict):
        raise _invalid("The ID token's payload is not a JSON object.")
    return claims


def _number(claims: dict[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise _invalid(f"The ID token has no '{name}' claim.")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"The ID token's '{name}' claim is {value!r}, not a NumericDate.")
    return float(value)


def _issuer_mismatch(claims: dict[str, Any], issuer: str) -> SignInError:
    received = claims.get("iss")
    v1 = _ENTRA_V1_ISSUER.match(received) if isinstance(received, str) else None
    v2 = _ENTRA_V2_ISSUER.match(issuer)
    if v2 is not None and (v1 is not None or claims.get("ver") == "1.0"):
        tenant = v1.group("tenant") if v1 is not None else v2.group("tenant")
        fixed = f"https://{v2.group('host')}/{tenant}/v2.0"
        return _invalid(
            f"The ID token is an Entra ID v1.0 token from issuer {received!r}, but this "
            f"environment expects v2.0 tokens from issuer {issuer!r}. Use the v2.0 Authority "
            f"{fixed!r}, whose sign-in endpoints issue v2.0 tokens.",
            "An administrator should set the Authority to the v2.0 endpoint shown above in the "
            "single sign-on settings.",
        )
    return _invalid(
        f"The ID token's issuer is {received!r}, but the provider's discovery document names "
        f"{issuer!r}.",
        "Check that the Authority is the issuer the identity provider signs tokens with.",
    )


def _check_tenant_allowed(claims: dict[str, Any], allowed: tuple[str, ...]) -> None:
    if not allowed:
        return
    tenant = claims.get("tid")
    if isinstance(tenant, str) and tenant.lower() in allowed:
        return
    raise _invalid(
        f"The ID token comes from tenant {tenant!r}, which is not among this environment's "
        "allowed tenants.",
        "Sign in with an account of an allowed organization, or ask the provider of this "
        "workspace to add the tenant to AllowedTenants.",
    )


def check_claims(claims: dict[str, Any], expected: IdTokenExpectations) -> None:
    """Check issuer, audience, times and nonce; raise `SignInError` naming the first mismatch."""
    issuer = expected_issuer(expected.issuer, claims)
    if claims.get("iss") != issuer:
        raise _issuer_mismatch(claims, issuer)
    if TENANT_TEMPLATE in expected.issuer:
        _check_tenant_allowed(claims, expected.allowed_tenants)

    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if expected.client_id not in audiences:
        raise _invalid(
            f"The ID token is for audience {audience!r}, not for Client ID {expected.client_id!r}.",
            "Check that the Client ID is the Application (client) ID of this app registration.",
        )
    if len(audiences) > 1 and claims.get("azp") != expected.client_id:
        raise _invalid(
            f"The ID token has several audiences and its 'azp' is {claims.get('azp')!r}, "
            f"not {expected.client_id!r}."
        )

    now = expected.now.timestamp()
    leeway = expected.leeway_seconds
    expires = _number(claims, "exp", required=True)
    assert expires is not None
    if expires <= now - leeway:
        raise _invalid(
            f"The ID token expired {int(now - expires)} seconds ago.",
            "Check the server's clock, then sign in again.",
        )
    issued = _number(claims, "iat", required=True)
    assert issued is not None
    if issued > now + leeway:
        raise _invalid(
            f"The ID token was issued {int(issued - now)} seconds in the future, more than the "
            f"{leeway} seconds of clock skew allowed.",
            "Check the clocks of this server and of the identity provider.",
        )
    not_before = _number(claims, "nbf", required=False)
    if not_before is not None and not_before > now + leeway:
        raise _invalid(f"The ID token is valid only from {int(not_before - now)} seconds from now.")

    if claims.get("nonce") != expected.nonce:
        raise _invalid(
            "The ID token's nonce does not match this sign-in attempt.",
            "Start the sign-in again from the sign-in page.",
        )
    if not isinstance(claims.get("sub"), str) or not claims.get("sub"):
        raise _invalid("The ID token has no 'sub' claim.")
