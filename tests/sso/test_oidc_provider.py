"""Verification and rollback against a real OpenID Provider (node-oidc-provider)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext
from starlette.testclient import TestClient

from tests.support.browser import new_isolated_context, sign_in_at_provider
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.idp import OidcProvider, RegisteredClient
from tests.support.provisioning import ADMIN_EMAIL, check, create_environment

IN_PROCESS_REDIRECT_URI = "http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse"
SSO = "/contoso/SingleSignOnSettings"


@pytest.fixture
def registered(api: TestClient, oidc_provider: OidcProvider) -> RegisteredClient:
    create_environment(api)
    return oidc_provider.register_client([IN_PROCESS_REDIRECT_URI])


def test_put_verified_against_provider(
    api: TestClient, oidc_provider: OidcProvider, registered: RegisteredClient
) -> None:
    body = {
        "Authority": oidc_provider.issuer,
        "clientId": registered.client_id,
        "Key": registered.client_secret,
    }

    response = api.put(f"{SSO}/OAuth2", json=body)

    assert response.status_code == 200, response.text
    report = response.json()["Verification"]
    assert report["Passed"] is True
    assert report["Authority"] == oidc_provider.issuer
    assert report["TenantId"] is None
    assert "accepted the Client ID and the Key" in check(report, "ClientCredentials")["Message"]


def test_put_strips_pasted_discovery_url(
    api: TestClient, oidc_provider: OidcProvider, registered: RegisteredClient
) -> None:
    pasted = oidc_provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    body = {"Authority": pasted, "ClientId": registered.client_id, "Key": registered.client_secret}

    response = api.put(f"{SSO}/OAuth2", json=body)

    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["Authority"] == oidc_provider.issuer.rstrip("/")
    assert saved["Verification"]["Passed"] is True
    notices = [item["ErrorMessage"] for item in saved["Notices"]]
    assert f"Authority {pasted!r} is used as {saved['Authority']!r}" in notices[0]


def test_wrong_secret_rejected_by_provider(
    api: TestClient, oidc_provider: OidcProvider, registered: RegisteredClient
) -> None:
    wrong = "canary-wrong-secret-61c0"
    body = {"Authority": oidc_provider.issuer, "ClientId": registered.client_id, "Key": wrong}

    response = api.put(f"{SSO}/OAuth2", json=body)

    assert response.status_code == 400
    [result] = response.json()
    assert result["MemberNames"] == ["ClientId", "Key"]
    assert result["ErrorMessage"].startswith(
        "The token endpoint rejected the Client ID or the Key (invalid_client"
    )
    assert wrong not in response.text


def test_unknown_client_rejected_by_provider(
    api: TestClient, oidc_provider: OidcProvider, registered: RegisteredClient
) -> None:
    body = {"Authority": oidc_provider.issuer, "ClientId": "no-such-client", "Key": "x" * 32}

    response = api.put(f"{SSO}/OAuth2", json=body)

    assert response.status_code == 400
    assert "rejected the Client ID or the Key" in response.json()[0]["ErrorMessage"]


@pytest.fixture
def fresh_browser(chromium: Browser) -> Iterator[list[BrowserContext]]:
    """Browser contexts without cookies, one per sign-in, closed at the end."""
    contexts: list[BrowserContext] = []
    yield contexts
    for context in contexts:
        context.close()


@pytest.mark.browser
def test_bad_key_rolled_back_in_one_call(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    chromium: Browser,
    fresh_browser: list[BrowserContext],
) -> None:
    registered = oidc_provider.register_client(
        [f"{live_server.url}/contoso/OAuth2/HandleAuthorityResponse"]
    )

    def sign_in() -> str:
        context = new_isolated_context(chromium)
        fresh_browser.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/contoso/SignIn")
        if page.url.startswith(oidc_provider.issuer):
            sign_in_at_provider(page, ADMIN_EMAIL)
        page.wait_for_load_state()
        return page.content()

    with live_server.api() as api:
        create_environment(api)
        body = {
            "Authority": oidc_provider.issuer,
            "clientId": registered.client_id,
            "Key": registered.client_secret,
        }
        saved = api.put(
            f"{SSO}/OAuth2",
            json=body,
            headers={"ProvisioningKey": PROVISIONING_KEY, "Content-Type": "application/json"},
        )
        assert saved.status_code == 200, saved.text
        assert ADMIN_EMAIL in sign_in()

        wrong = {**body, "Key": "wrong-secret-value"}
        assert api.put(f"{SSO}/OAuth2", json=wrong).status_code == 400
        skipped = api.put(f"{SSO}/OAuth2", json=wrong, params={"verify": "false"})
        assert skipped.status_code == 200
        assert skipped.json()["Warnings"][0]["MemberNames"] == ["ClientId", "Key"]
        failed_page = sign_in()
        assert "Sign-in failed" in failed_page
        assert "did not accept this environment" in failed_page

        good = api.get(SSO).json()["LastKnownGoodVersion"]
        restored = api.post(f"{SSO}/History/{good}/Restore")
        assert restored.status_code == 200
        assert ADMIN_EMAIL in sign_in()
