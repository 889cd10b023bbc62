"""POST .../SingleSignOnSettings/OAuth2/Verify: every check's pass and fail, nothing saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, SsoSettings
from tests.support.entra import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_DOMAIN,
    TENANT_ID,
    FakeEntra,
)
from tests.support.hatchway import prepare_context
from tests.support.hatchway import test_settings as make_settings
from tests.support.network import install_http_client, mapping_resolver
from tests.support.provisioning import check, create_environment, error_messages

REDIRECT_URI = "http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse"
AUTHORITY = f"https://login.microsoftonline.com/{TENANT_DOMAIN}/v2.0"
VERIFY = "/contoso/SingleSignOnSettings/OAuth2/Verify"


@pytest.fixture
def environment(api: TestClient, fake_entra: FakeEntra) -> str:
    fake_entra.register_app(redirect_uris=(REDIRECT_URI,))
    return create_environment(api)


def body(**changes: Any) -> dict[str, Any]:
    return {"Authority": AUTHORITY, "ClientId": CLIENT_ID, "Key": CLIENT_SECRET, **changes}


def verify(api: TestClient, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.post(VERIFY, json=payload) if payload is not None else api.post(VERIFY)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def test_verify_reports_shape(api: TestClient, environment: str) -> None:
    report = verify(api, body())

    assert report == {
        "Passed": True,
        "Authority": AUTHORITY,
        "TenantId": TENANT_ID,
        "RedirectUri": REDIRECT_URI,
        "Checks": report["Checks"],
        "Notices": [],
    }
    assert {item["Name"] for item in report["Checks"]} == {
        "Authority",
        "KeyFormat",
        "Discovery",
        "Jwks",
        "ClientCredentials",
        "RedirectUri",
    }
    outcomes = {item["Name"]: item["Outcome"] for item in report["Checks"]}
    assert outcomes == {
        "Authority": "Passed",
        "KeyFormat": "Passed",
        "Discovery": "Passed",
        "Jwks": "Passed",
        "ClientCredentials": "Passed",
        "RedirectUri": "Warning",
    }


def test_verify_saves_nothing(api: TestClient, environment: str, context: AppContext) -> None:
    verify(api, body())

    with context.database.read() as session:
        settings = session.get(SsoSettings, 1)
        audit_count = session.scalar(select(func.count()).select_from(AuditRecord))
    assert settings is not None
    assert settings.version == 0
    assert settings.authority is None
    assert audit_count == 2  # environment.create and user.create only


def test_verify_empty_body_uses_stored(api: TestClient, environment: str) -> None:
    api.put("/contoso/SingleSignOnSettings/OAuth2", json=body())

    report = verify(api)

    assert report["Passed"] is True
    assert report["TenantId"] == TENANT_ID


def test_verify_empty_object_uses_stored(api: TestClient, environment: str) -> None:
    api.put("/contoso/SingleSignOnSettings/OAuth2", json=body())

    assert verify(api, {})["Passed"] is True


def test_verify_stored_after_secret_expired(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    api.put("/contoso/SingleSignOnSettings/OAuth2", json=body())
    fake_entra.apps[CLIENT_ID].secret_expired = True

    report = verify(api)

    assert report["Passed"] is False
    assert "the secret has expired" in check(report, "ClientCredentials")["Message"]


def test_verify_without_stored_settings(api: TestClient, environment: str) -> None:
    response = api.post(VERIFY)

    assert "has no stored OAuth2 settings to verify" in error_messages(response)[0]


def test_verify_body_merges_with_stored(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    api.put("/contoso/SingleSignOnSettings/OAuth2", json=body())

    report = verify(api, {"Key": "22222222-2222-2222-2222-222222222222"})

    assert report["Passed"] is False
    assert check(report, "ClientCredentials")["Passed"] is False


def test_verify_rejects_invalid_body(api: TestClient, environment: str) -> None:
    response = api.post(VERIFY, json=body(Authority="https://login.microsoftonline.com/"))

    assert "has no tenant" in error_messages(response)[0]


def test_verify_unknown_environment(api: TestClient) -> None:
    response = api.post("/nowhere/SingleSignOnSettings/OAuth2/Verify", json=body())

    assert response.status_code == 404


# Authority


def test_authority_check_passes_for_entra(api: TestClient, environment: str) -> None:
    message = check(verify(api, body()), "Authority")["Message"]

    assert "Microsoft Entra ID v2.0 endpoint on login.microsoftonline.com" in message
    assert "'contoso.onmicrosoft.com'" in message


def test_authority_check_fails_for_stored_placeholder(
    api: TestClient, environment: str, context: AppContext
) -> None:
    api.put("/contoso/SingleSignOnSettings/OAuth2", json=body())
    with context.database.write() as session:
        settings = session.get(SsoSettings, 1)
        assert settings is not None
        settings.authority = "https://login.microsoftonline.com/tenant_id/v2.0"

    report = verify(api)

    assert check(report, "Authority")["Passed"] is False
    assert "looks like a placeholder" in check(report, "Authority")["Message"]
    assert check(report, "Discovery")["Message"] == (
        "Not checked, because the Authority check failed."
    )


# KeyFormat


def test_key_format_passes(api: TestClient, environment: str) -> None:
    result = check(verify(api, body()), "KeyFormat")

    assert result["Passed"] is True
    assert result["Outcome"] == "Passed"
    assert "not shaped like a Secret ID" in result["Message"]


def test_key_format_warns_about_secret_id(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    # Even a provider that accepts a GUID as secret leaves the warning in place.
    fake_entra.apps[CLIENT_ID].secret = "22222222-2222-2222-2222-222222222222"

    report = verify(api, body(Key="22222222-2222-2222-2222-222222222222"))

    assert report["Passed"] is True
    assert "shaped like a GUID" in check(report, "KeyFormat")["Message"]
    assert check(report, "KeyFormat")["Outcome"] == "Warning"
    assert report["Notices"][0]["MemberNames"] == ["Key"]


def test_key_format_fails_for_stored_client_id(
    api: TestClient, environment: str, context: AppContext
) -> None:
    api.put("/contoso/SingleSignOnSettings/OAuth2", json=body())
    with context.database.write() as session:
        settings = session.get(SsoSettings, 1)
        assert settings is not None
        settings.key_sealed = context.keyring.seal(CLIENT_ID)

    report = verify(api)

    assert check(report, "KeyFormat")["Passed"] is False
    assert "Key is the same as the ClientId" in check(report, "KeyFormat")["Message"]


# Discovery


def test_discovery_fails_for_unknown_tenant(api: TestClient, environment: str) -> None:
    authority = "https://login.microsoftonline.com/fabrikam.onmicrosoft.com/v2.0"

    report = verify(api, body(Authority=authority))

    result = check(report, "Discovery")
    assert result["Passed"] is False
    assert result["Outcome"] == "Failed"
    assert "AADSTS90002: tenant not found" in result["Message"]
    assert check(report, "Jwks")["Message"] == "Not checked, because the Discovery check failed."
    assert check(report, "Jwks")["Outcome"] == "NotChecked"


def test_discovery_fails_when_host_unresolvable(api: TestClient, environment: str) -> None:
    report = verify(api, body(Authority="https://idp.invalid/realms/contoso"))

    result = check(report, "Discovery")
    assert result["Passed"] is False
    assert "could not be fetched" in result["Message"]
    assert "'idp.invalid'" in result["Message"]


def test_discovery_fails_for_issuer_mismatch(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    # The fake answers for 127.0.0.1 too, but names its issuer with https.
    authority = f"http://127.0.0.1:{fake_entra.port}/{TENANT_ID}/v2.0"

    report = verify(api, body(Authority=authority))

    message = check(report, "Discovery")["Message"]
    assert f"names issuer 'https://127.0.0.1/{TENANT_ID}/v2.0'" in message
    assert "set the Authority to" in message


def test_discovery_fails_for_other_tenant_issuer(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    other = "44444444-4444-4444-4444-444444444444"
    fake_entra.tenants[other] = TENANT_ID

    report = verify(api, body(Authority=f"https://login.microsoftonline.com/{other}/v2.0"))

    message = check(report, "Discovery")["Message"]
    assert f"of tenant {TENANT_ID}, not of tenant {other}" in message


def test_discovery_accepts_tenant_template(api: TestClient, environment: str) -> None:
    report = verify(api, body(Authority="https://login.microsoftonline.com/common/v2.0"))

    assert check(report, "Discovery")["Passed"] is True
    assert report["TenantId"] is None


# Jwks


def test_jwks_passes_without_alg(api: TestClient, environment: str, fake_entra: FakeEntra) -> None:
    assert all("alg" not in key.public_jwk() for key in fake_entra.published_keys)

    result = check(verify(api, body()), "Jwks")

    assert result["Passed"] is True
    assert "1 RSA signing key(s)" in result["Message"]


def test_jwks_fails_without_rsa_key(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    fake_entra.published_keys = []

    result = check(verify(api, body()), "Jwks")

    assert result["Passed"] is False
    assert "has no RSA signing key" in result["Message"]


# ClientCredentials


def test_client_credentials_pass_on_invalid_grant(api: TestClient, environment: str) -> None:
    result = check(verify(api, body()), "ClientCredentials")

    assert result["Passed"] is True
    assert "accepted the Client ID and the Key" in result["Message"]


def test_client_credentials_fail_on_invalid_client(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    fake_entra.token_answer = (401, {"error": "invalid_client"})

    result = check(verify(api, body()), "ClientCredentials")

    assert result["Passed"] is False
    assert result["Message"] == (
        "The token endpoint rejected the Client ID or the Key (invalid_client). Check that the "
        "Client ID is the one the provider registered and that the Key is the client secret's "
        "current value."
    )


def test_client_credentials_fail_on_unexpected_answer(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    fake_entra.token_answer = (400, {"error": "unsupported_grant_type"})

    result = check(verify(api, body()), "ClientCredentials")

    assert result["Passed"] is False
    assert "'unsupported_grant_type'" in result["Message"]
    assert "could not be confirmed" in result["Message"]


# RedirectUri


def test_redirect_uri_check_names_uri(api: TestClient, environment: str) -> None:
    result = check(verify(api, body()), "RedirectUri")

    assert result["Passed"] is True
    assert result["Outcome"] == "Warning"
    assert result["Message"] == (
        "Register this exact redirect URI in the app registration (Authentication, platform "
        f"'Web'): {REDIRECT_URI!r}. The provider does not show its list, so only a sign-in "
        "(Test sign-in on the single sign-on page) proves it is registered."
    )


def test_redirect_uri_check_fails_when_refused(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    fake_entra.apps[CLIENT_ID].redirect_uris = ["https://elsewhere.example/callback"]

    report = verify(api, body())

    assert check(report, "RedirectUri")["Passed"] is False
    assert "AADSTS50011" in check(report, "RedirectUri")["Message"]
    assert "Not confirmed" in check(report, "ClientCredentials")["Message"]


class TestPlainHttpPublicUrl:
    """Entra ID refuses http redirect URIs except on localhost."""

    @pytest.fixture
    def settings(self, tmp_path: Path, database_url: str) -> Settings:
        return make_settings(
            tmp_path / "data", database_url, public_url="http://portal.example.com"
        )

    @pytest.fixture
    def environment(self, api: TestClient, fake_entra: FakeEntra) -> str:
        fake_entra.register_app()
        return create_environment(api)

    def test_redirect_uri_check_fails_for_http(self, api: TestClient, environment: str) -> None:
        result = check(verify(api, body()), "RedirectUri")

        assert result["Passed"] is False
        assert "accepts http redirect URIs only for localhost" in result["Message"]


class TestSsrfGuard:
    """Discovery goes through the guard, which refuses internal addresses before connecting."""

    @pytest.fixture
    def context(self, settings: Settings) -> Iterator[AppContext]:
        app_context = prepare_context(settings)
        install_http_client(
            app_context,
            mapping_resolver(
                {"idp.contoso.example": "10.20.30.40", "meta.example": "169.254.169.254"}
            ),
        )
        try:
            yield app_context
        finally:
            app_context.close()

    @pytest.mark.parametrize(
        ("authority", "address"),
        [
            ("https://idp.contoso.example", "10.20.30.40"),
            ("https://meta.example/latest", "169.254.169.254"),
            ("https://[fd00::1]:8443", "fd00::1"),
        ],
    )
    def test_discovery_refuses_internal_address(
        self, api: TestClient, authority: str, address: str
    ) -> None:
        create_environment(api)

        report = verify(api, body(Authority=authority, ClientId="portal"))

        message = check(report, "Discovery")["Message"]
        assert f"resolves to the non-public address {address}" in message


def test_verify_requires_provisioning_key(app: Any, environment: str) -> None:
    with TestClient(app, base_url="http://127.0.0.1/Provisioning") as anonymous:
        response = anonymous.post(VERIFY, json=body())

    assert response.status_code == 403


def test_verify_accepts_any_case_path(api: TestClient, environment: str) -> None:
    response = api.post("/contoso/singlesignonsettings/oauth2/verify/", json=body())

    assert response.status_code == 200
