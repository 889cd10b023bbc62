"""The story from DESIGN.md, in Chromium against the real oidc-provider.

A partner creates an environment, sets its SSO settings with the PUT that partners' scripts
send, and the administrator signs in. A wrong Key locks everyone out with a readable page; the
right Key, sent again, lets the administrator back in.
"""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.support.browser import new_isolated_context, sign_in_at_provider
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.idp import OidcProvider, RegisteredClient

pytestmark = pytest.mark.browser

ADMIN = "alice@contoso.test"


def create_environment(live: LiveServer) -> str:
    response = httpx.post(
        live.provisioning("/Environment/"),
        headers={"ProvisioningKey": PROVISIONING_KEY, "Content-Type": "application/json"},
        content=json.dumps(
            {
                "EnvironmentName": "Contoso",
                "EmailAddress": ADMIN,
                "FirstName": "Alice",
                "LastName": "Admin",
                "Password": "a-long-local-password",
            }
        ),
    )
    assert response.status_code == 200, response.text
    return str(response.json())


def put_sso_settings(
    live: LiveServer, environment: str, issuer: str, client_id: str, key: str, query: str = ""
) -> httpx.Response:
    """Send the PUT exactly as partners' scripts do: two headers and a lower-case 'clientId'."""
    return httpx.put(
        live.provisioning(f"/{environment}/SingleSignOnSettings/OAuth2{query}"),
        headers={"ProvisioningKey": PROVISIONING_KEY, "Content-Type": "application/json"},
        content=json.dumps({"Authority": issuer, "clientId": client_id, "Key": key}),
    )


def register_client(live: LiveServer, provider: OidcProvider, environment: str) -> RegisteredClient:
    return provider.register_client([f"{live.url}/{environment}/OAuth2/HandleAuthorityResponse"])


def sign_in(context: BrowserContext, live: LiveServer, environment: str) -> Page:
    page = context.new_page()
    page.goto(f"{live.url}/{environment}/SignIn")
    sign_in_at_provider(page, ADMIN)
    page.wait_for_load_state()
    return page


def test_story_sign_in_lockout_and_recovery(
    live_server: LiveServer, oidc_provider: OidcProvider, browser_context: BrowserContext
) -> None:
    environment = create_environment(live_server)
    client = register_client(live_server, oidc_provider, environment)

    response = put_sso_settings(
        live_server, environment, oidc_provider.issuer, client.client_id, client.client_secret
    )
    assert response.status_code == 200, response.text

    page = sign_in(browser_context, live_server, environment)
    assert page.url == f"{live_server.url}/{environment}/"
    assert page.locator("#user-email").inner_text() == ADMIN
    assert page.locator("#session-kind").inner_text() == "the identity provider"

    # A wrong Key locks everyone out, with a page that says why.
    response = put_sso_settings(
        live_server,
        environment,
        oidc_provider.issuer,
        client.client_id,
        "not-the-secret",
        "?verify=false",
    )
    assert response.status_code == 200, response.text
    locked_out = new_isolated_context(browser_context.browser)  # type: ignore[arg-type]
    try:
        page = sign_in(locked_out, live_server, environment)
        assert page.locator("h1").inner_text() == "Sign-in failed"
        message = page.locator("p.message").inner_text()
        assert "did not accept this environment's Client ID and Key" in message
        assert "invalid_client" in message
        assert "not-the-secret" not in page.content()
        assert (
            page.get_by_role("link", name="Request emergency access (administrators)").count() == 1
        )
    finally:
        locked_out.close()

    # The partner sends the right Key again and the administrator is back in.
    response = put_sso_settings(
        live_server, environment, oidc_provider.issuer, client.client_id, client.client_secret
    )
    assert response.status_code == 200, response.text
    recovered = new_isolated_context(browser_context.browser)  # type: ignore[arg-type]
    try:
        page = sign_in(recovered, live_server, environment)
        assert page.locator("#user-email").inner_text() == ADMIN
    finally:
        recovered.close()
