"""Authority parsing and normalization, with the Client ID rules of Microsoft Entra ID.

For a Microsoft sign-in host the Authority is rewritten to the one form Hatchway uses,
``https://<sign-in host of that cloud>/<tenant>/v2.0``:

- legacy hosts become the current sign-in host of the same cloud (``login.windows.net`` and
  ``sts.windows.net`` become ``login.microsoftonline.com``, ``login.chinacloudapi.cn`` becomes
  ``login.partner.microsoftonline.cn``), while current hosts of every cloud
  (``login.microsoftonline.us``, ``login.partner.microsoftonline.cn``) are recognized by their
  shape and kept;
- whatever follows the tenant (``/oauth2/authorize``, ``/oauth2/v2.0/token``,
  ``/.well-known/openid-configuration``) is removed and ``/v2.0`` is added;
- a missing tenant or a placeholder from sample code is rejected, naming the accepted forms.

The Authority of any other provider is kept as given, apart from trimming and from removing a
pasted ``/.well-known/openid-configuration``, which Hatchway appends itself for discovery.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hatchway.errors import ValidationResult
from hatchway.sso.inputs import check_authority

GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

# Current sign-in hosts of the public and national clouds: login.microsoftonline.com,
# login.microsoftonline.us, login.partner.microsoftonline.cn and any later one of that shape.
_CURRENT_HOST = re.compile(r"^login(?:\.partner)?\.microsoftonline\.[a-z]{2,3}$")

# Legacy host names and the current sign-in host of the same cloud.
_LEGACY_HOSTS = {
    "login.windows.net": "login.microsoftonline.com",
    "sts.windows.net": "login.microsoftonline.com",
    "login-us.microsoftonline.com": "login.microsoftonline.us",
    "login.chinacloudapi.cn": "login.partner.microsoftonline.cn",
    "sts.chinacloudapi.cn": "login.partner.microsoftonline.cn",
}

# Path segments that start an endpoint path, so they cannot be the tenant.
_ENDPOINT_SEGMENTS = frozenset(
    {"oauth2", "v2.0", ".well-known", "discovery", "saml2", "wsfed", "federationmetadata"}
)
_DOMAIN = re.compile(
    r"^(?=.{4,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_PLACEHOLDER_HINTS = ("enter", "your", "here", "tenant", "xxx", "placeholder", "application")
_DISCOVERY_SUFFIX = re.compile(r"/\.well-known/openid-configuration/?$", re.IGNORECASE)
ACCEPTED_TENANTS = (
    "the Directory (tenant) ID (a GUID), a verified domain such as 'contoso.onmicrosoft.com', "
    "'organizations' or 'common'"
)


class TenantKind(enum.StrEnum):
    DIRECTORY_ID = "DirectoryId"
    DOMAIN = "Domain"
    MULTI_TENANT = "MultiTenant"
    CONSUMERS = "Consumers"


@dataclass(frozen=True)
class EntraAuthority:
    """A Microsoft Entra ID Authority: the cloud's sign-in host and the tenant."""

    host: str
    tenant: str

    @property
    def url(self) -> str:
        return f"https://{self.host}/{self.tenant}/v2.0"

    @property
    def kind(self) -> TenantKind:
        if self.tenant in ("common", "organizations"):
            return TenantKind.MULTI_TENANT
        if self.tenant == "consumers":
            return TenantKind.CONSUMERS
        if GUID.match(self.tenant):
            return TenantKind.DIRECTORY_ID
        return TenantKind.DOMAIN


@dataclass
class NormalizedAuthority:
    """An Authority after trimming and normalization, with errors and notices for the response.

    `entra` is set for Microsoft sign-in hosts whose Authority is valid.
    """

    value: str
    entra: EntraAuthority | None = None
    errors: list[ValidationResult] = field(default_factory=list)
    notices: list[ValidationResult] = field(default_factory=list)


def is_guid(value: str) -> bool:
    return GUID.match(value) is not None


def microsoft_sign_in_host(host: str) -> str | None:
    """Return the current sign-in host of the Microsoft cloud that `host` belongs to, or None."""
    host = host.lower().rstrip(".")
    if _CURRENT_HOST.match(host):
        return host
    return _LEGACY_HOSTS.get(host)


def _looks_like_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(c in value for c in "{}<>[]") or any(hint in lowered for hint in _PLACEHOLDER_HINTS)


def _tenant_problem(authority: str, tenant: str | None) -> str | None:
    if tenant is None or tenant.lower() in _ENDPOINT_SEGMENTS:
        return (
            f"Authority {authority!r} has no tenant after the host; add {ACCEPTED_TENANTS}, "
            "as in 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0'."
        )
    lowered = tenant.lower()
    if lowered in ("common", "organizations", "consumers") or is_guid(tenant):
        return None
    if _DOMAIN.match(lowered):
        return None
    what = (
        "which looks like a placeholder from sample code"
        if _looks_like_placeholder(tenant)
        else "which is neither a GUID nor a domain name"
    )
    return (
        f"Authority {authority!r} has {tenant!r} where the tenant belongs, {what}; "
        f"put {ACCEPTED_TENANTS} there."
    )


def _entra_notices(original: str, entra: EntraAuthority) -> list[ValidationResult]:
    notices: list[ValidationResult] = []
    if original != entra.url:
        notices.append(
            ValidationResult(
                ("Authority",),
                f"Authority {original!r} is used as {entra.url!r}, the Entra ID v2.0 "
                "endpoint of the same cloud and tenant.",
            )
        )
    if entra.kind is TenantKind.MULTI_TENANT:
        notices.append(
            ValidationResult(
                ("Authority",),
                f"Authority tenant {entra.tenant!r} accepts accounts of any organization, so the "
                "app registration must be multi-tenant ('Accounts in any organizational "
                "directory'); otherwise Entra ID refuses the sign-in on its own page with "
                "AADSTS50194. Use the Directory (tenant) ID instead to allow only your tenant, "
                "or list the tenants allowed in AllowedTenants.",
            )
        )
    if entra.kind is TenantKind.CONSUMERS:
        notices.append(
            ValidationResult(
                ("Authority",),
                "Authority tenant 'consumers' accepts personal Microsoft accounts only; the app "
                "registration must allow personal Microsoft accounts.",
            )
        )
    return notices


def _strip_discovery_path(result: NormalizedAuthority) -> None:
    """Remove a pasted discovery path from the Authority of a provider other than Entra ID."""
    stripped = _DISCOVERY_SUFFIX.sub("", result.value)
    if stripped == result.value:
        return
    result.notices.append(
        ValidationResult(
            ("Authority",),
            f"Authority {result.value!r} is used as {stripped!r}: the Authority is the "
            "provider's issuer URL, and Hatchway appends '/.well-known/openid-configuration' "
            "itself.",
        )
    )
    result.value = stripped


def normalize_authority(raw: str, *, allow_loopback_http: bool) -> NormalizedAuthority:
    """Check an Authority and, for Microsoft sign-in hosts, rewrite it to the v2.0 form."""
    checked = check_authority(raw, allow_loopback_http=allow_loopback_http)
    result = NormalizedAuthority(checked.value, None, checked.errors, checked.notices)
    if result.errors:
        return result
    parts = urlsplit(checked.value)
    host = microsoft_sign_in_host(parts.hostname or "")
    if host is None:
        _strip_discovery_path(result)
        return result

    authority = checked.value
    if parts.port not in (None, 443):
        result.errors.append(
            ValidationResult(
                ("Authority",),
                f"Authority {authority!r} names port {parts.port}; Microsoft sign-in hosts are "
                "reached on the standard https port, so remove the port.",
            )
        )
        return result
    segments = [segment for segment in parts.path.split("/") if segment]
    tenant = segments[0] if segments else None
    problem = _tenant_problem(authority, tenant)
    if problem is not None:
        result.errors.append(ValidationResult(("Authority",), problem))
        return result

    assert tenant is not None
    entra = EntraAuthority(host, tenant.lower())
    result.value = entra.url
    result.entra = entra
    result.notices.extend(_entra_notices(authority, entra))
    return result


def check_entra_client_id(client_id: str, entra: EntraAuthority) -> list[ValidationResult]:
    """Check that a Client ID used with Entra ID is an Application (client) ID."""
    if not is_guid(client_id):
        what = (
            "looks like a placeholder from sample code and is not a GUID"
            if _looks_like_placeholder(client_id)
            else "is not a GUID"
        )
        return [
            ValidationResult(
                ("ClientId",),
                f"ClientId {client_id!r} {what}; Entra ID identifies an app by its Application "
                "(client) ID, a GUID such as '11111111-2222-3333-4444-555555555555' on the app "
                "registration's overview page.",
            )
        ]
    if entra.kind is TenantKind.DIRECTORY_ID and client_id.lower() == entra.tenant:
        return [
            ValidationResult(
                ("ClientId",),
                f"ClientId {client_id!r} is the Directory (tenant) ID of the Authority; use the "
                "Application (client) ID from the app registration's overview page.",
            )
        ]
    return []
