"""The whole way back in, in Chromium: broken SSO, request, mail, link, button, fix, sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from hatchway.config import Settings
from tests.support.accounts import ADMIN_EMAIL, create_environment, link_in
from tests.support.browser import new_isolated_context, sign_in_at_provider
from tests.support.hatchway import LiveServer
from tests.support.hatchway import test_settings as make_settings
from tests.support.idp import OidcProvider
from tests.support.smtp import SmtpSink


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_sink: SmtpSink) -> Settings:
    return make_settings(
        tmp_path / "data",
        database_url,
        smtp_url=f"smtp://127.0.0.1:{smtp_sink.port}",
        outbox_worker=True,
        outbox_poll_seconds=0.1,
    )


@pytest.mark.browser
def test_locked_out_administrator_fixes_sso_through_emergency_access(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    smtp_sink: SmtpSink,
    chromium: Browser,
    browser_context: BrowserContext,
) -> None:
    registered = oidc_provider.register_client(
        [f"{live_server.url}/contoso/OAuth2/HandleAuthorityResponse"]
    )
    with live_server.api() as api:
        create_environment(api)
        broken = api.put(
            "/contoso/SingleSignOnSettings/OAuth2?verify=false",
            json={
                "Authority": oidc_provider.issuer,
                "ClientId": registered.client_id,
                "Key": "expired-or-wrong-secret",
            },
        )
        assert broken.status_code == 200, broken.text
    page = browser_context.new_page()

    # Single sign-on fails with the wrong Key.
    page.goto(f"{live_server.url}/contoso/SignIn")
    sign_in_at_provider(page, ADMIN_EMAIL)
    expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()

    # The administrator requests emergency access and receives the link by mail.
    page.get_by_role("link", name="Request emergency access (administrators)").click()
    page.get_by_label("E-mail address of your administrator account").fill(ADMIN_EMAIL)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    message = smtp_sink.wait_for_message(
        lambda mail: str(mail["Subject"]).startswith("Emergency sign-in link")
    )

    # Opening the link only shows the button; pressing it lands on the SSO settings.
    page.goto(link_in(message))
    page.get_by_role("button", name="Sign in with emergency access").click()
    page.wait_for_url(f"{live_server.url}/contoso/AdminPage/SingleSignOn")
    expect(page.locator("#emergency-banner")).to_contain_text("emergency access")
    expect(page.locator("#redirect-uri")).to_have_text(
        f"{live_server.url}/contoso/OAuth2/HandleAuthorityResponse"
    )

    # The administrator enters the right Key.
    page.get_by_role("link", name="Configure single sign-on").click()
    page.get_by_label("Key (client secret value)").fill(registered.client_secret)
    page.get_by_role("button", name="Save single sign-on settings").click()
    # The Key has not passed a test sign-in, so saving it needs a confirmation.
    page.get_by_role("button", name="Save without a test sign-in").click()
    expect(page.locator("#saved-message")).to_contain_text("Saved as version 2.")

    # Single sign-on works again, in a browser that never signed in.
    fresh = new_isolated_context(chromium)
    try:
        again = fresh.new_page()
        again.goto(f"{live_server.url}/contoso/SignIn")
        sign_in_at_provider(again, ADMIN_EMAIL)
        again.wait_for_url(f"{live_server.url}/contoso/")
        expect(again.locator("#user-email")).to_have_text(ADMIN_EMAIL)
        expect(again.locator("#session-kind")).to_have_text("the identity provider")
    finally:
        fresh.close()
