"""Authority normalization and the Entra ID Client ID rules, one row per kind of input."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hatchway.sso.authority import (
    EntraAuthority,
    TenantKind,
    check_entra_client_id,
    microsoft_sign_in_host,
    normalize_authority,
)

GUID = "00000000-0000-0000-0000-000000000000"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@dataclass(frozen=True)
class Accepted:
    raw: str
    saved: str
    kind: TenantKind | None
    notice: str | None  # a fragment of the first notice, or None when none is expected


ACCEPTED = [
    # Legacy hosts become the current sign-in host of the same cloud.
    Accepted(
        "https://login.windows.net/contoso.onmicrosoft.com",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
        TenantKind.DOMAIN,
        "'https://login.windows.net/contoso.onmicrosoft.com' is used as "
        "'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0'",
    ),
    Accepted(
        f"https://sts.windows.net/{TENANT}/",
        f"https://login.microsoftonline.com/{TENANT}/v2.0",
        TenantKind.DIRECTORY_ID,
        "is used as",
    ),
    Accepted(
        f"https://login.chinacloudapi.cn/{TENANT}",
        f"https://login.partner.microsoftonline.cn/{TENANT}/v2.0",
        TenantKind.DIRECTORY_ID,
        "is used as",
    ),
    Accepted(
        f"https://login-us.microsoftonline.com/{TENANT}",
        f"https://login.microsoftonline.us/{TENANT}/v2.0",
        TenantKind.DIRECTORY_ID,
        "is used as",
    ),
    # National clouds keep their own host.
    Accepted(
        f"https://login.microsoftonline.us/{TENANT}",
        f"https://login.microsoftonline.us/{TENANT}/v2.0",
        TenantKind.DIRECTORY_ID,
        "is used as",
    ),
    Accepted(
        f"https://login.partner.microsoftonline.cn/{TENANT}/oauth2/v2.0/authorize",
        f"https://login.partner.microsoftonline.cn/{TENANT}/v2.0",
        TenantKind.DIRECTORY_ID,
        "is used as",
    ),
    # Pasted endpoint paths are stripped and v2.0 is appended.
    Accepted(
        f"https://login.microsoftonline.com/{GUID}/oauth2/authorize",
        f"https://login.microsoftonline.com/{GUID}/v2.0",
        TenantKind.DIRECTORY_ID,
        f"'https://login.microsoftonline.com/{GUID}/oauth2/authorize' is used as "
        f"'https://login.microsoftonline.com/{GUID}/v2.0'",
    ),
    Accepted(
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
        TenantKind.DOMAIN,
        "is used as",
    ),
    Accepted(
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
        TenantKind.DOMAIN,
        "is used as",
    ),
    Accepted(
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/.well-known/openid-configuration",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
        TenantKind.DOMAIN,
        "is used as",
    ),
    Accepted(
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
        TenantKind.DOMAIN,
        "is used as",
    ),
    # Case and the default port do not matter.
    Accepted(
        f"HTTPS://Login.MicrosoftOnline.com:443/{TENANT.upper()}",
        f"https://login.microsoftonline.com/{TENANT}/v2.0",
        TenantKind.DIRECTORY_ID,
        "is used as",
    ),
    # The v2.0 form stays as it is, without a notice.
    Accepted(
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
        TenantKind.DOMAIN,
        None,
    ),
    # Multi-tenant and personal-account tenants are accepted with a warning.
    Accepted(
        "https://login.microsoftonline.com/organizations/v2.0",
        "https://login.microsoftonline.com/organizations/v2.0",
        TenantKind.MULTI_TENANT,
        "app registration must be multi-tenant",
    ),
    Accepted(
        "https://login.microsoftonline.com/common",
        "https://login.microsoftonline.com/common/v2.0",
        TenantKind.MULTI_TENANT,
        "is used as",
    ),
    Accepted(
        "https://login.microsoftonline.com/consumers/v2.0",
        "https://login.microsoftonline.com/consumers/v2.0",
        TenantKind.CONSUMERS,
        "personal Microsoft accounts",
    ),
    # Other providers keep the Authority as given, apart from trimming.
    Accepted(
        "https://idp.example.com/realms/contoso/",
        "https://idp.example.com/realms/contoso/",
        None,
        None,
    ),
    Accepted(
        "  https://accounts.example.org\n",
        "https://accounts.example.org",
        None,
        "started or ended with line breaks",
    ),
    Accepted(
        "https://login.microsoftonline.com.example.net/contoso.onmicrosoft.com",
        "https://login.microsoftonline.com.example.net/contoso.onmicrosoft.com",
        None,
        None,
    ),
    Accepted(
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0",
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0",
        None,
        None,
    ),
    # A pasted discovery path is stripped for every provider, because Hatchway appends it.
    Accepted(
        "https://idp.example.com/realms/contoso/.well-known/openid-configuration",
        "https://idp.example.com/realms/contoso",
        None,
        "'https://idp.example.com/realms/contoso/.well-known/openid-configuration' is used as "
        "'https://idp.example.com/realms/contoso'",
    ),
    Accepted(
        "https://accounts.example.org/.well-known/openid-configuration/",
        "https://accounts.example.org",
        None,
        "appends '/.well-known/openid-configuration' itself",
    ),
    Accepted(
        "https://idp.example.com/.WELL-KNOWN/OpenID-Configuration",
        "https://idp.example.com",
        None,
        "is used as 'https://idp.example.com'",
    ),
    Accepted(
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0/"
        ".well-known/openid-configuration",
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0",
        None,
        "is used as",
    ),
    # Only a whole final discovery path is stripped.
    Accepted(
        "https://idp.example.com/.well-known/openid-configuration-v2",
        "https://idp.example.com/.well-known/openid-configuration-v2",
        None,
        None,
    ),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=[case.raw.strip() for case in ACCEPTED])
def test_authority_accepted(case: Accepted) -> None:
    result = normalize_authority(case.raw, allow_loopback_http=False)

    assert result.errors == []
    assert result.value == case.saved
    assert (result.entra.kind if result.entra else None) == case.kind
    if case.notice is None:
        assert result.notices == []
    else:
        assert case.notice in result.notices[0].message
        assert result.notices[0].member_names == ("Authority",)


@dataclass(frozen=True)
class Rejected:
    raw: str
    fragments: tuple[str, ...]


ACCEPTED_FORMS = (
    "Directory (tenant) ID (a GUID)",
    "a verified domain such as 'contoso.onmicrosoft.com'",
    "'organizations' or 'common'",
)

REJECTED = [
    Rejected("https://login.microsoftonline.com/", ("has no tenant", *ACCEPTED_FORMS)),
    Rejected("https://login.windows.net", ("has no tenant", *ACCEPTED_FORMS)),
    Rejected(
        "https://login.microsoftonline.com/oauth2/v2.0/authorize",
        ("has no tenant", *ACCEPTED_FORMS),
    ),
    Rejected(
        "https://login.microsoftonline.com/tenant_id/v2.0",
        ("'tenant_id'", "looks like a placeholder", *ACCEPTED_FORMS),
    ),
    Rejected(
        "https://login.microsoftonline.com/Enter_the_Tenant_Id_here",
        ("'Enter_the_Tenant_Id_here'", "looks like a placeholder"),
    ),
    Rejected(
        "https://login.microsoftonline.com/{tenant}/v2.0",
        ("'{tenant}'", "looks like a placeholder"),
    ),
    Rejected(
        "https://login.microsoftonline.com/contoso/v2.0",
        ("'contoso'", "neither a GUID nor a domain name"),
    ),
    Rejected(
        "https://login.microsoftonline.com:8443/contoso.onmicrosoft.com",
        ("port 8443", "remove the port"),
    ),
    Rejected("http://login.microsoftonline.com/contoso.onmicrosoft.com", ("uses http",)),
    Rejected("login.microsoftonline.com/contoso.onmicrosoft.com", ("not an absolute https URL",)),
]


@pytest.mark.parametrize("case", REJECTED, ids=[case.raw for case in REJECTED])
def test_authority_rejected(case: Rejected) -> None:
    result = normalize_authority(case.raw, allow_loopback_http=False)

    assert len(result.errors) == 1
    assert result.errors[0].member_names == ("Authority",)
    for fragment in case.fragments:
        assert fragment in result.errors[0].message


@pytest.mark.parametrize(
    ("host", "sign_in_host"),
    [
        ("login.microsoftonline.com", "login.microsoftonline.com"),
        ("login.microsoftonline.us", "login.microsoftonline.us"),
        ("login.partner.microsoftonline.cn", "login.partner.microsoftonline.cn"),
        ("login.microsoftonline.de", "login.microsoftonline.de"),
        ("LOGIN.WINDOWS.NET", "login.microsoftonline.com"),
        ("sts.windows.net", "login.microsoftonline.com"),
        ("sts.chinacloudapi.cn", "login.partner.microsoftonline.cn"),
        ("login.microsoftonline.com.example.net", None),
        ("evil-login.microsoftonline.com", None),
        ("accounts.google.com", None),
    ],
)
def test_microsoft_sign_in_host(host: str, sign_in_host: str | None) -> None:
    assert microsoft_sign_in_host(host) == sign_in_host


ENTRA = EntraAuthority("login.microsoftonline.com", TENANT)


@pytest.mark.parametrize(
    ("client_id", "fragments"),
    [
        ("Enter_the_Application_Id_here", ("looks like a placeholder", "not a GUID")),
        ("my-portal-app", ("'my-portal-app' is not a GUID", "Application (client) ID")),
        (TENANT, ("is the Directory (tenant) ID",)),
    ],
)
def test_entra_client_id_rejected(client_id: str, fragments: tuple[str, ...]) -> None:
    errors = check_entra_client_id(client_id, ENTRA)

    assert len(errors) == 1
    assert errors[0].member_names == ("ClientId",)
    for fragment in fragments:
        assert fragment in errors[0].message


def test_entra_client_id_accepted() -> None:
    assert check_entra_client_id("11111111-2222-3333-4444-555555555555", ENTRA) == []
