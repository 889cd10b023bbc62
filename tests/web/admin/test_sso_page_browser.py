"""The single sign-on page in Chromium, against the real oidc-provider.

Each test drives one action the way an administrator does: Verify, Test sign-in in a new
window, Save with and without a passed test sign-in, Restore, the copy button, and the
refusals (the last way in, a forged form). Set HATCHWAY_SCREENSHOT_DIR to save a screenshot
of the page with a Verify result.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from hatchway.db.models import SessionRecord, User
from tests.support.accounts import ADMIN_EMAIL, ADMIN_PASSWORD, create_environment
from tests.support.browser import new_isolated_context, sign_in_at_provider
from tests.support.hatchway import LiveServer
from tests.support.idp import OidcProvider, RegisteredClient
from tests.support.loopback import LoopbackServer, Reply

pytestmark = pytest.mark.browser

WRONG_KEY = "wrong-key-canary-7c31"
PASSED_WITH_WARNING = (
    "Verification passed with warnings: every check passed, and 1 check has a warning to read "
    "(RedirectUri)."
)


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.api() as client:
        yield client


@pytest.fixture
def registered(live_server: LiveServer, oidc_provider: OidcProvider) -> RegisteredClient:
    return oidc_provider.register_client(
        [f"{live_server.url}/contoso/OAuth2/HandleAuthorityResponse"]
    )


@pytest.fixture
def environment(api: httpx.Client) -> str:
    return create_environment(api)


def sso_page_url(live: LiveServer) -> str:
    return f"{live.url}/contoso/AdminPage/SingleSignOn"


def open_as_administrator(context: BrowserContext, live: LiveServer) -> Page:
    """Sign in with the administrator's password and open the single sign-on page."""
    page = context.new_page()
    page.goto(f"{live.url}/contoso/SignIn?local=1&return_to=/contoso/AdminPage/SingleSignOn")
    page.get_by_label("E-mail address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(sso_page_url(live))
    return page


def fill_oauth2(page: Page, provider: OidcProvider, client: RegisteredClient, key: str) -> None:
    page.get_by_label("OAuth2: sign-in through the identity provider").check()
    page.get_by_label("Authority").fill(provider.issuer)
    page.get_by_label("Client ID").fill(client.client_id)
    page.get_by_label("Key (client secret value)").fill(key)


def settings_of(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/contoso/SingleSignOnSettings")
    assert response.status_code == 200, response.text
    settings: dict[str, Any] = response.json()
    return settings


def save_screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("HATCHWAY_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def run_test_sign_in(page: Page) -> Page:
    """Press Test sign-in, sign in at the provider in the new window and return that window."""
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Test sign-in (new window)").click()
    window = opened.value
    sign_in_at_provider(window, ADMIN_EMAIL)
    window.wait_for_load_state()
    return window


# Verify


def test_verify_shows_failed_then_passed_check(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    page = open_as_administrator(browser_context, live_server)

    fill_oauth2(page, oidc_provider, registered, WRONG_KEY)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verification-heading")).to_have_text(
        "Verification failed: 1 check failed (ClientCredentials)."
    )
    failed = page.locator('li[data-check="ClientCredentials"]')
    expect(failed).to_have_attribute("data-outcome", "Failed")
    expect(failed).to_contain_text("invalid_client")
    assert WRONG_KEY not in page.content()

    page.get_by_label("Key (client secret value)").fill(registered.client_secret)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verification-heading")).to_have_text(PASSED_WITH_WARNING)
    expect(page.locator('li[data-check="ClientCredentials"]')).to_have_attribute(
        "data-outcome", "Passed"
    )
    expect(page.locator("#key-hint")).to_contain_text("The Key you entered is kept with this form")
    assert settings_of(api)["Version"] == 0
    save_screenshot(page, "admin-sso-verify.png")


def test_verify_shows_redirect_uri_as_warning(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
) -> None:
    page = open_as_administrator(browser_context, live_server)
    fill_oauth2(page, oidc_provider, registered, registered.client_secret)

    page.get_by_role("button", name="Verify").click()

    redirect_check = page.locator('li[data-check="RedirectUri"]')
    expect(redirect_check).to_have_attribute("data-outcome", "Warning")
    expect(redirect_check.locator("span").first).to_have_text("Warning")
    expect(page.locator('li[data-check="Jwks"] span').first).to_have_text("Passed")
    expect(page.locator("#verification-heading")).to_have_text(PASSED_WITH_WARNING)


# Test sign-in


def test_test_sign_in_reports_who_and_saves_nothing(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    saved = {
        "Authority": oidc_provider.issuer,
        "ClientId": registered.client_id,
        "Key": registered.client_secret,
    }
    assert api.put("/contoso/SingleSignOnSettings/OAuth2", json=saved).status_code == 200
    staged = oidc_provider.register_client(
        [f"{live_server.url}/contoso/OAuth2/HandleAuthorityResponse"]
    )
    page = open_as_administrator(browser_context, live_server)
    with live_server.context.database.read() as session:
        sessions_before = session.scalar(select(func.count(SessionRecord.id_hash)))
    page.get_by_label("Client ID").fill(staged.client_id)
    page.get_by_label("Key (client secret value)").fill(staged.client_secret)

    window = run_test_sign_in(page)

    expect(window.locator("#test-outcome")).to_have_text(
        f"Test sign-in succeeded: Admin {ADMIN_EMAIL} signed in through {oidc_provider.issuer}."
    )
    expect(window.locator("#test-hint")).to_have_text(
        f"A real sign-in would link this identity to {ADMIN_EMAIL}, an administrator of "
        "'contoso', and sign them in."
    )
    expect(window.locator("#not-changed")).to_contain_text(
        "The saved single sign-on settings were not changed"
    )
    settings = settings_of(api)
    assert (settings["ClientId"], settings["Version"]) == (registered.client_id, 1)
    assert settings["LastKnownGoodVersion"] is None
    assert len(api.get("/contoso/SingleSignOnSettings/History").json()) == 1
    with live_server.context.database.read() as session:
        assert session.scalar(select(func.count(SessionRecord.id_hash))) == sessions_before
        admin = session.scalars(select(User).where(User.email == ADMIN_EMAIL)).one()
        assert admin.idp_subject is None
        assert session.scalar(select(func.count(User.id))) == 1
    records = api.get("/contoso/AuditLog", params={"action": "sso.test_sign_in"}).json()
    assert [(r["Actor"], r["Outcome"]) for r in records["Records"]] == [(ADMIN_EMAIL, "success")]
    assert staged.client_secret not in str(records)
    page.reload()
    expect(page.locator("#test-sign-ins tbody tr")).to_have_attribute("data-outcome", "passed")


def test_test_sign_in_with_wrong_key_says_why(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
) -> None:
    page = open_as_administrator(browser_context, live_server)
    fill_oauth2(page, oidc_provider, registered, WRONG_KEY)

    window = run_test_sign_in(page)

    expect(window.locator("h1")).to_have_text("Test sign-in failed")
    expect(window.locator("#test-outcome")).to_contain_text(
        "Test sign-in failed: The identity provider did not accept this environment's Client ID "
        "and Key (invalid_client"
    )
    assert WRONG_KEY not in window.content()
    page.reload()
    expect(page.locator("#test-sign-ins tbody tr")).to_have_attribute("data-outcome", "failed")


def test_test_sign_in_works_without_javascript(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    chromium: Browser,
) -> None:
    context = chromium.new_context(java_script_enabled=False)
    context.route(lambda url: "127.0.0.1" not in url, lambda route: route.abort())
    try:
        page = open_as_administrator(context, live_server)
        expect(page.get_by_role("button", name="Copy redirect URI")).to_be_hidden()
        fill_oauth2(page, oidc_provider, registered, registered.client_secret)

        window = run_test_sign_in(page)

        expect(window.locator("#test-outcome")).to_contain_text("Test sign-in succeeded")
    finally:
        context.close()


# Save


def test_save_after_passed_test_needs_no_confirmation(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    page = open_as_administrator(browser_context, live_server)
    fill_oauth2(page, oidc_provider, registered, registered.client_secret)
    window = run_test_sign_in(page)
    expect(window.locator("#test-outcome")).to_contain_text("Test sign-in succeeded")
    window.close()

    page.get_by_role("button", name="Save single sign-on settings").click()

    expect(page.locator("#saved-message")).to_have_text(
        "Saved as version 1. Sign-in now uses these settings."
    )
    settings = settings_of(api)
    assert (settings["Mode"], settings["ClientId"]) == ("OAuth2", registered.client_id)


def test_reload_after_test_sign_in_keeps_tested_key(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    saved = {
        "Authority": oidc_provider.issuer,
        "ClientId": registered.client_id,
        "Key": registered.client_secret,
    }
    assert api.put("/contoso/SingleSignOnSettings/OAuth2", json=saved).status_code == 200
    staged = oidc_provider.register_client(
        [f"{live_server.url}/contoso/OAuth2/HandleAuthorityResponse"]
    )
    page = open_as_administrator(browser_context, live_server)
    page.get_by_label("Client ID").fill(staged.client_id)
    page.get_by_label("Key (client secret value)").fill(staged.client_secret)
    window = run_test_sign_in(page)
    expect(window.locator("#test-outcome")).to_contain_text("Test sign-in succeeded")
    window.close()

    page.reload()

    expect(page.get_by_label("Client ID")).to_have_value(staged.client_id)
    expect(page.get_by_label("Key (client secret value)")).to_have_value("")
    expect(page.locator("#key-hint")).to_contain_text(
        "The Key that passed your test sign-in is kept for Save until"
    )
    expect(page.locator("#tested-values")).to_contain_text("which are not saved yet")
    assert staged.client_secret not in page.content()

    page.get_by_role("button", name="Save single sign-on settings").click()

    expect(page.locator("#saved-message")).to_have_text(
        "Saved as version 2. Sign-in now uses these settings."
    )
    assert settings_of(api)["ClientId"] == staged.client_id
    verified = api.post("/contoso/SingleSignOnSettings/OAuth2/Verify")
    assert verified.json()["Passed"] is True, verified.text
    expect(page.locator("#key-hint")).to_have_text(
        "A Key is stored. Leave this field empty to keep it."
    )


def test_untested_save_needs_confirmation(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    page = open_as_administrator(browser_context, live_server)
    fill_oauth2(page, oidc_provider, registered, registered.client_secret)

    page.get_by_role("button", name="Save single sign-on settings").click()

    expect(page.get_by_role("heading", name="Save without a test sign-in?")).to_be_visible()
    ways_in = page.locator("#ways-back-in")
    expect(ways_in).to_contain_text("Emergency access")
    expect(ways_in).to_contain_text(f"Ada Admin ({ADMIN_EMAIL})")
    assert settings_of(api)["Version"] == 0

    page.get_by_role("button", name="Save without a test sign-in").click()

    expect(page.locator("#saved-message")).to_have_text(
        "Saved as version 1. Sign-in now uses these settings."
    )
    assert settings_of(api)["Mode"] == "OAuth2"


def test_confirmation_page_offers_test_first(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    page = open_as_administrator(browser_context, live_server)
    fill_oauth2(page, oidc_provider, registered, registered.client_secret)
    page.get_by_role("button", name="Save single sign-on settings").click()

    window = run_test_sign_in(page)
    expect(window.locator("#test-outcome")).to_contain_text("Test sign-in succeeded")
    window.close()
    page.get_by_role("button", name="Save after the test sign-in").click()

    expect(page.locator("#saved-message")).to_contain_text("Saved as version 1.")
    assert settings_of(api)["ClientId"] == registered.client_id


# Restore


def test_restore_earlier_version(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    good = {
        "Authority": oidc_provider.issuer,
        "ClientId": registered.client_id,
        "Key": registered.client_secret,
    }
    assert api.put("/contoso/SingleSignOnSettings/OAuth2", json=good).status_code == 200
    broken = {**good, "Key": WRONG_KEY}
    response = api.put("/contoso/SingleSignOnSettings/OAuth2?verify=false", json=broken)
    assert response.status_code == 200, response.text
    page = open_as_administrator(browser_context, live_server)
    expect(page.locator('tr[data-version="2"]')).to_contain_text("Saved with verification skipped.")

    page.get_by_role("button", name="Restore version 1").click()

    expect(page.locator("#saved-message")).to_have_text(
        "Restored version 1 as version 3. Sign-in now uses these settings."
    )
    expect(page.locator('tr[data-version="3"]')).to_contain_text("Restored from version 1.")
    history = api.get("/contoso/SingleSignOnSettings/History").json()
    assert history[0]["RestoredFrom"] == 1
    assert history[0]["KeyFingerprint"] == history[2]["KeyFingerprint"]


def _good_then_failing_then_good(
    api: httpx.Client, oidc_provider: OidcProvider, registered: RegisteredClient
) -> None:
    """Save the right Key as versions 1 and 3, and a wrong one (unverified) as version 2."""
    good = {
        "Authority": oidc_provider.issuer,
        "ClientId": registered.client_id,
        "Key": registered.client_secret,
    }
    assert api.put("/contoso/SingleSignOnSettings/OAuth2", json=good).status_code == 200
    broken = {**good, "Key": WRONG_KEY}
    response = api.put("/contoso/SingleSignOnSettings/OAuth2?verify=false", json=broken)
    assert response.status_code == 200, response.text
    assert api.put("/contoso/SingleSignOnSettings/OAuth2", json=good).status_code == 200


def test_restore_of_failing_version_asks_first(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    _good_then_failing_then_good(api, oidc_provider, registered)
    page = open_as_administrator(browser_context, live_server)

    page.get_by_role("button", name="Restore version 2").click()

    expect(
        page.get_by_role("heading", name="Restore version 2 although checks fail?")
    ).to_be_visible()
    expect(page.locator('li[data-check="ClientCredentials"]')).to_have_attribute(
        "data-outcome", "Failed"
    )
    expect(page.locator("#ways-back-in")).to_contain_text(f"Ada Admin ({ADMIN_EMAIL})")
    assert settings_of(api)["Version"] == 3

    page.get_by_role("button", name="Restore version 2 anyway").click()

    expect(page.locator("#saved-message")).to_contain_text(
        "Restored version 2 as version 4, although checks failed"
    )
    expect(page.locator(".warning").first).to_contain_text("Restored although a check failed:")
    expect(page.locator("#verification-heading")).to_have_text(
        "Verification failed: 1 check failed (ClientCredentials)."
    )
    assert settings_of(api)["Version"] == 4


def test_restore_of_failing_version_rejected_without_password(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    assert api.post("/Environment/contoso/").status_code == 200
    created = api.post(
        "/contoso/User/", json={"EmailAddress": ADMIN_EMAIL, "IsAdministrator": True}
    )
    assert created.status_code == 200, created.text
    helper = api.post(
        "/contoso/User/",
        json={
            "EmailAddress": "helper@contoso.test",
            "IsAdministrator": True,
            "Password": ADMIN_PASSWORD,
        },
    )
    assert helper.status_code == 200, helper.text
    _good_then_failing_then_good(api, oidc_provider, registered)
    assert api.delete(f"/contoso/User/{helper.json()}").status_code == 200
    link = api.post(
        "/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"}
    ).json()["Url"]
    page = browser_context.new_page()
    page.goto(link)
    page.get_by_role("button", name="Sign in with emergency access").click()
    page.wait_for_url(sso_page_url(live_server))

    page.get_by_role("button", name="Restore version 2").click()

    expect(page.locator("#form-errors")).to_contain_text(
        "No active administrator of 'contoso' has a password, and the values of version 2 fail "
        "verification now (ClientCredentials), so restoring version 2 could lock everyone out; "
        "nothing was changed."
    )
    expect(page.locator('li[data-check="ClientCredentials"]')).to_have_attribute(
        "data-outcome", "Failed"
    )
    assert settings_of(api)["Version"] == 3


# The last way in


def test_last_way_in_guard_on_page(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    assert api.post("/Environment/contoso/").status_code == 200
    created = api.post(
        "/contoso/User/", json={"EmailAddress": ADMIN_EMAIL, "IsAdministrator": True}
    )
    assert created.status_code == 200, created.text
    good = {
        "Authority": oidc_provider.issuer,
        "ClientId": registered.client_id,
        "Key": registered.client_secret,
    }
    assert api.put("/contoso/SingleSignOnSettings/OAuth2", json=good).status_code == 200
    link = api.post(
        "/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"}
    ).json()["Url"]
    page = browser_context.new_page()
    page.goto(link)
    page.get_by_role("button", name="Sign in with emergency access").click()
    page.wait_for_url(sso_page_url(live_server))
    expect(page.locator("#ways-back-in")).to_contain_text("No active administrator has a password")

    page.get_by_label("None: everyone signs in with a password").check()
    page.get_by_role("button", name="Save single sign-on settings").click()

    expect(page.locator("#mode-error")).to_have_text(
        "No active administrator of 'contoso' has a password, so switching to mode None would "
        "lock everyone out; give an administrator a password first (Users page or the "
        "Provisioning API), or keep single sign-on. "
    )
    assert settings_of(api)["Mode"] == "OAuth2"


# Forms from elsewhere


def test_forged_form_is_refused(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    good = {
        "Authority": oidc_provider.issuer,
        "ClientId": registered.client_id,
        "Key": registered.client_secret,
    }
    assert api.put("/contoso/SingleSignOnSettings/OAuth2", json=good).status_code == 200
    page = open_as_administrator(browser_context, live_server)
    # Another port of 127.0.0.1 is the same site, so the browser sends the session cookie along.
    forger = LoopbackServer()
    forger.replies["/"] = Reply(
        body=(
            f'<form method="post" action="{sso_page_url(live_server)}">'
            '<input type="hidden" name="mode" value="None">'
            '<button type="submit">Claim your prize</button></form>'
        ).encode(),
        headers={"Content-Type": "text/html"},
    )
    forger.start()
    try:
        page.goto(forger.url("/"))
        page.get_by_role("button", name="Claim your prize").click()

        expect(page.locator("#form-errors")).to_contain_text(
            "The form has expired; reload the page and try again."
        )
    finally:
        forger.stop()
    assert settings_of(api)["Mode"] == "OAuth2"


# Copy and keyboard


def test_copy_button_copies_redirect_uri(
    live_server: LiveServer, environment: str, chromium: Browser
) -> None:
    context = new_isolated_context(chromium)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    try:
        page = open_as_administrator(context, live_server)
        button = page.get_by_role("button", name="Copy redirect URI")

        button.focus()
        page.keyboard.press("Enter")

        expect(page.locator("#copy-status")).to_have_text("Copied.")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == f"{live_server.url}/contoso/OAuth2/HandleAuthorityResponse"
    finally:
        context.close()


def test_enter_in_a_field_verifies(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    registered: RegisteredClient,
    environment: str,
    browser_context: BrowserContext,
    api: httpx.Client,
) -> None:
    page = open_as_administrator(browser_context, live_server)
    fill_oauth2(page, oidc_provider, registered, registered.client_secret)

    page.get_by_label("Client ID").press("Enter")

    expect(page.locator("#verification-heading")).to_have_text(PASSED_WITH_WARNING)
    assert settings_of(api)["Version"] == 0
