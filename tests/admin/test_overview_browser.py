"""The administration overview and what every admin page shares, in Chromium.

Administrators and emergency sessions may enter, and everyone else gets a 403 page. The tests
cover the navigation, keyboard use, labels and pages without JavaScript. They also check the
overview's facts: SSO mode and whether it works, Key expiry, the ways back in and the recent
emergency requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.admin.conftest import ENVIRONMENT, open_admin_page, sign_in
from tests.support.accounts import ADMIN_EMAIL, add_user, create_environment
from tests.support.browser import new_isolated_context, sign_in_at_provider
from tests.support.hatchway import LiveServer
from tests.support.idp import OidcProvider

pytestmark = pytest.mark.browser

USER_EMAIL = "worker@contoso.test"
# The path segment after AdminPage/, the navigation link and the page's heading.
SECTIONS = [
    ("", "Overview", "Administration of contoso"),
    ("SingleSignOn", "Single sign-on", "Single sign-on"),
    ("Users", "Users", "Users"),
    ("AuditLog", "Audit log", "Audit log"),
    ("EmergencyAccess", "Emergency access", "Emergency access"),
]


@pytest.fixture(scope="module")
def user_page(server: LiveServer, chromium: Browser) -> Iterator[Page]:
    """A page signed in to 'contoso' as a user who is not an administrator."""
    with server.api() as api:
        add_user(api, ENVIRONMENT, USER_EMAIL, is_administrator=False)
    context = new_isolated_context(chromium)
    try:
        yield sign_in(context, server, ENVIRONMENT, USER_EMAIL)
    finally:
        context.close()


def new_environment(server: LiveServer, name: str) -> None:
    with server.api() as api:
        create_environment(api, name)


def emergency_page(chromium: Browser, server: LiveServer, environment: str, email: str) -> Page:
    """Redeem a link issued through the Provisioning API and return the emergency session's page."""
    with server.api() as api:
        issued = api.post(
            f"/{environment}/EmergencyAccess", json={"EmailAddress": email, "Delivery": "Response"}
        )
    assert issued.status_code == 200, issued.text
    page = new_isolated_context(chromium).new_page()
    page.goto(issued.json()["Url"])
    page.get_by_role("button", name="Sign in with emergency access").click()
    expect(page.locator("#emergency-banner")).to_be_visible()
    return page


def set_sso(server: LiveServer, environment: str, body: dict[str, object]) -> None:
    with server.api() as api:
        response = api.put(
            f"/{environment}/SingleSignOnSettings/OAuth2", params={"verify": "false"}, json=body
        )
    assert response.status_code == 200, response.text


def sso_sign_in(chromium: Browser, server: LiveServer, environment: str) -> None:
    context = new_isolated_context(chromium)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/{environment}/SignIn")
        sign_in_at_provider(page, ADMIN_EMAIL)
        page.wait_for_url(f"{server.url}/{environment}/")
    finally:
        context.close()


# Who may enter


@pytest.mark.parametrize("rest", ["", "Users", "Users/1", "Users/1/Delete", "AuditLog"])
def test_non_administrator_gets_403_page(server: LiveServer, user_page: Page, rest: str) -> None:
    response = user_page.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/{rest}")

    assert response is not None
    assert response.status == 403
    expect(user_page.get_by_role("heading", name="Administrators only")).to_be_visible()
    expect(user_page.locator("main")).to_contain_text(f"{USER_EMAIL} is not one")


def test_non_administrator_gets_403_on_emergency_list(server: LiveServer, user_page: Page) -> None:
    response = user_page.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/EmergencyAccess")

    assert response is not None
    assert response.status == 403
    expect(user_page.get_by_role("heading", name="Administrators only")).to_be_visible()


def test_non_administrator_cannot_add_user(server: LiveServer, user_page: Page) -> None:
    user_page.goto(f"{server.url}/{ENVIRONMENT}/")
    token = user_page.locator('input[name="csrf_token"]').first.get_attribute("value")

    response = user_page.request.post(
        f"{server.url}/{ENVIRONMENT}/AdminPage/Users",
        form={
            "email": "sneaky@contoso.test",
            "is_administrator": "true",
            "csrf_token": token or "",
        },
        max_redirects=0,
    )

    assert response.status == 403
    with server.api() as api:
        emails = [user["EmailAddress"] for user in api.get(f"/{ENVIRONMENT}/User").json()]
    assert "sneaky@contoso.test" not in emails


def test_visitor_without_session_is_sent_to_sign_in(server: LiveServer, chromium: Browser) -> None:
    context = new_isolated_context(chromium)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/Users")

        assert page.url == (
            f"{server.url}/{ENVIRONMENT}/SignIn?return_to=/{ENVIRONMENT}/AdminPage/Users"
        )
        expect(page.get_by_role("heading", name="Sign in to contoso")).to_be_visible()
    finally:
        context.close()


# Navigation, keyboard and labels


@pytest.mark.parametrize(("segment", "label", "heading"), SECTIONS)
def test_navigation_reaches_section(
    server: LiveServer, admin: Page, segment: str, label: str, heading: str
) -> None:
    open_admin_page(admin, server, "Users" if segment == "" else "")
    navigation = admin.get_by_role("navigation", name="Administration")

    navigation.get_by_role("link", name=label, exact=True).click()

    assert admin.url == f"{server.url}/{ENVIRONMENT}/AdminPage/{segment}"
    expect(admin.get_by_role("heading", level=1)).to_have_text(heading)
    expect(navigation.get_by_role("link", name=label, exact=True)).to_have_attribute(
        "aria-current", "page"
    )


def test_skip_link_is_first_tab_stop(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server, "Users")

    admin.keyboard.press("Tab")

    focused = admin.locator(":focus")
    expect(focused).to_have_text("Skip to content")
    expect(focused).to_be_visible()
    admin.keyboard.press("Enter")
    assert admin.url.endswith("/AdminPage/Users#main")


def test_focused_button_shows_outline(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server, "Users")

    admin.get_by_label("Search by name or e-mail address").focus()
    admin.keyboard.press("Tab")

    outline = admin.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


@pytest.mark.parametrize("rest", ["", "Users", "Users/1", "AuditLog", "EmergencyAccess"])
def test_every_control_has_label(server: LiveServer, admin: Page, rest: str) -> None:
    open_admin_page(admin, server, rest)

    unlabelled = admin.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(control => control.labels.length === 0)
            .map(control => control.outerHTML)"""
    )

    assert unlabelled == []


@pytest.mark.parametrize("rest", ["Users", "AuditLog", "EmergencyAccess"])
def test_tables_have_column_headers(server: LiveServer, admin: Page, rest: str) -> None:
    open_admin_page(admin, server, rest)

    headless = admin.evaluate(
        """() => [...document.querySelectorAll('main table')]
            .filter(table => table.querySelectorAll('thead th[scope=col]').length === 0)
            .map(table => table.id)"""
    )

    assert headless == []


def test_pages_work_without_javascript(server: LiveServer, chromium: Browser) -> None:
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = sign_in(context, server, ENVIRONMENT, ADMIN_EMAIL)
        page.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/")
        page.get_by_role("link", name="Users", exact=True).click()
        form = page.locator("#add-user")
        form.get_by_label("E-mail address").fill("no-script@contoso.test")
        form.get_by_role("button", name="Add user").click()

        expect(page.locator("#notice")).to_have_text("Added no-script@contoso.test.")
    finally:
        context.close()


# The overview's facts


def test_overview_shows_sso_off(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server)

    expect(admin.locator("#sso-mode")).to_have_text("None")
    expect(admin.locator("#sso-health")).to_have_text(
        "Single sign-on is off: everyone signs in with a password."
    )
    expect(admin.locator("#key-days-left")).to_have_text("No Key is stored.")


def test_overview_counts_ways_back_in(server: LiveServer, chromium: Browser) -> None:
    new_environment(server, "tailspin")
    with server.api() as api:
        add_user(api, "tailspin", "second@tailspin.test", is_administrator=True)
        add_user(api, "tailspin", "nopass@tailspin.test", is_administrator=True, password=None)
        add_user(api, "tailspin", "plain@tailspin.test", is_administrator=False)
    page = sign_in(new_isolated_context(chromium), server, "tailspin", ADMIN_EMAIL)

    page.goto(f"{server.url}/tailspin/AdminPage/")

    expect(page.locator("#active-administrators")).to_have_text("3")
    expect(page.locator("#administrators-with-password")).to_have_text("2")
    expect(page.locator("#user-count")).to_have_text("4")
    page.context.close()


def test_overview_warns_when_no_administrator_has_password(
    server: LiveServer, chromium: Browser
) -> None:
    new_environment(server, "adatum")
    with server.api() as api:
        add_user(api, "adatum", "sso-only@adatum.test", is_administrator=True, password=None)
        users = api.get("/adatum/User").json()
        first = next(user for user in users if user["EmailAddress"] == ADMIN_EMAIL)
        assert api.put(f"/adatum/User/{first['Id']}", json={"IsActive": False}).status_code == 200
    page = emergency_page(chromium, server, "adatum", "sso-only@adatum.test")

    page.goto(f"{server.url}/adatum/AdminPage/")

    expect(page.locator("#administrators-with-password")).to_have_text("0")
    expect(page.locator("#no-password-warning")).to_contain_text(
        "No active administrator has a password."
    )
    page.context.close()


def test_overview_shows_key_days_left(server: LiveServer, chromium: Browser) -> None:
    new_environment(server, "litware")
    expires = date.today() + timedelta(days=12)
    set_sso(
        server,
        "litware",
        {
            "Authority": "https://login.microsoftonline.com/litware.onmicrosoft.com/v2.0",
            "ClientId": "00000000-0000-0000-0000-00000000000a",
            "Key": "litware-key-value",
            "KeyExpiresOn": expires.isoformat(),
        },
    )
    page = sign_in(new_isolated_context(chromium), server, "litware", ADMIN_EMAIL)

    page.goto(f"{server.url}/litware/AdminPage/")

    days_left = page.locator("#key-days-left")
    expect(days_left).to_have_text(
        f"12 days left: the Key expires on {expires.isoformat()}.", use_inner_text=True
    )
    expect(days_left).to_have_class("warning")
    page.context.close()


def test_overview_lists_recent_emergency_requests(server: LiveServer, admin: Page) -> None:
    with server.api() as api:
        issued = api.post(
            f"/{ENVIRONMENT}/EmergencyAccess",
            json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
        )
    assert issued.status_code == 200, issued.text

    open_admin_page(admin, server)

    table = admin.locator("#recent-emergency-requests table")
    expect(table.locator("tbody tr").first).to_contain_text("ProvisioningApi")
    expect(table.locator("tbody tr").first).to_contain_text("NotMailed")


def test_emergency_session_sees_overview(server: LiveServer, chromium: Browser) -> None:
    page = emergency_page(chromium, server, ENVIRONMENT, ADMIN_EMAIL)

    page.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/")

    expect(page.get_by_role("heading", name="Administration of contoso")).to_be_visible()
    expect(page.locator("#emergency-banner")).to_contain_text("emergency access")
    page.context.close()


def registered_sso(
    server: LiveServer, provider: OidcProvider, environment: str
) -> dict[str, object]:
    client = provider.register_client(
        [f"{server.url}/{environment}/OAuth2/HandleAuthorityResponse"]
    )
    return {
        "Authority": provider.issuer,
        "ClientId": client.client_id,
        "Key": client.client_secret,
    }


def test_overview_confirms_sso_after_sign_in(
    server: LiveServer, oidc_provider: OidcProvider, chromium: Browser
) -> None:
    new_environment(server, "fabrikam")
    set_sso(server, "fabrikam", registered_sso(server, oidc_provider, "fabrikam"))
    page = sign_in(new_isolated_context(chromium), server, "fabrikam", ADMIN_EMAIL)
    page.goto(f"{server.url}/fabrikam/AdminPage/")
    expect(page.locator("#sso-health")).to_contain_text("Not confirmed")

    sso_sign_in(chromium, server, "fabrikam")
    page.reload()

    expect(page.locator("#sso-mode")).to_have_text("OAuth2")
    expect(page.locator("#sso-health")).to_have_text(
        "Working: the current version 1 has signed a user in."
    )
    expect(page.locator("#sso-last-known-good")).to_have_text("1")
    page.context.close()


def test_overview_names_last_version_that_worked(
    server: LiveServer, oidc_provider: OidcProvider, chromium: Browser
) -> None:
    new_environment(server, "wingtip")
    set_sso(server, "wingtip", registered_sso(server, oidc_provider, "wingtip"))
    sso_sign_in(chromium, server, "wingtip")
    set_sso(server, "wingtip", {"Key": "a-wrong-secret-value"})
    page = sign_in(new_isolated_context(chromium), server, "wingtip", ADMIN_EMAIL)

    page.goto(f"{server.url}/wingtip/AdminPage/")

    expect(page.locator("#sso-version")).to_have_text("2")
    expect(page.locator("#sso-health")).to_have_text(
        "Not confirmed: no sign-in has succeeded with the current version 2 yet. Version 1 was "
        "the last one that worked; the single sign-on page can restore it."
    )
    page.context.close()


def test_overview_after_restore_of_version_that_worked(
    server: LiveServer, oidc_provider: OidcProvider, chromium: Browser
) -> None:
    new_environment(server, "restoredgood")
    set_sso(server, "restoredgood", registered_sso(server, oidc_provider, "restoredgood"))
    sso_sign_in(chromium, server, "restoredgood")
    set_sso(server, "restoredgood", {"Key": "a-wrong-secret-value"})
    with server.api() as api:
        restored = api.post("/restoredgood/SingleSignOnSettings/History/1/Restore")
    assert restored.status_code == 200, restored.text
    page = sign_in(new_isolated_context(chromium), server, "restoredgood", ADMIN_EMAIL)

    page.goto(f"{server.url}/restoredgood/AdminPage/")

    expect(page.locator("#sso-version")).to_have_text("3")
    expect(page.locator("#sso-health")).to_have_text(
        "Not confirmed: the current version 3 has the values of version 1, which signed a user "
        "in before, but no sign-in has succeeded since. If sign-in fails, run Verify on the "
        "single sign-on page: the identity provider may reject these values now."
    )
    page.context.close()
