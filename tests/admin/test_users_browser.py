"""The users page in Chromium: search, add, role, activation, password, deletion, CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.admin.conftest import ENVIRONMENT, open_admin_page, sign_in
from tests.support.accounts import ADMIN_EMAIL, ADMIN_PASSWORD, add_user, create_environment
from tests.support.browser import new_isolated_context
from tests.support.hatchway import LiveServer
from tests.support.ports import free_port

pytestmark = pytest.mark.browser

NEW_PASSWORD = "violet-harbour-lantern"


def add_api_user(
    server: LiveServer,
    email: str,
    *,
    is_administrator: bool = False,
    password: str | None = None,
    environment: str = ENVIRONMENT,
) -> int:
    with server.api() as api:
        return add_user(
            api, environment, email, is_administrator=is_administrator, password=password
        )


def user_state(server: LiveServer, user_id: int, environment: str = ENVIRONMENT) -> dict[str, Any]:
    """Return the user as the Provisioning API shows it, or {} when it does not exist."""
    with server.api() as api:
        response = api.get(f"/{environment}/User/{user_id}")
    if response.status_code == 404:
        return {}
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def audit_records(server: LiveServer, action: str, environment: str = ENVIRONMENT) -> list[Any]:
    with server.api() as api:
        response = api.get(f"/{environment}/AuditLog", params={"action": action, "limit": 500})
    assert response.status_code == 200, response.text
    records: list[Any] = response.json()["Records"]
    return records


def user_row(page: Page, email: str) -> Locator:
    return page.locator(f'#users tbody tr[data-email="{email}"]')


def open_user(page: Page, server: LiveServer, user_id: int) -> None:
    open_admin_page(page, server, f"Users/{user_id}")


def test_list_shows_users_with_role(server: LiveServer, admin: Page) -> None:
    add_api_user(server, "listed@contoso.test")

    open_admin_page(admin, server, "Users")

    expect(admin.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(admin.get_by_role("columnheader", name="E-mail address")).to_be_visible()
    expect(user_row(admin, "listed@contoso.test").get_by_role("cell").nth(1)).to_have_text("User")
    expect(user_row(admin, ADMIN_EMAIL).get_by_role("cell").nth(1)).to_have_text("Administrator")


def test_search_finds_by_email(server: LiveServer, admin: Page) -> None:
    add_api_user(server, "quentin.search@contoso.test")
    open_admin_page(admin, server, "Users")

    admin.get_by_label("Search by name or e-mail address").fill("QUENTIN.search")
    admin.get_by_role("button", name="Search", exact=True).click()

    assert "q=QUENTIN.search" in admin.url
    expect(admin.locator("#users tbody tr")).to_have_count(1)
    expect(user_row(admin, "quentin.search@contoso.test")).to_be_visible()
    expect(admin.locator("#result-count")).to_contain_text("1 user match")


def test_search_finds_by_full_name(server: LiveServer, admin: Page) -> None:
    with server.api() as api:
        created = api.post(
            f"/{ENVIRONMENT}/User/",
            json={"EmailAddress": "r.m@contoso.test", "FirstName": "Rosalind", "LastName": "Marsh"},
        )
        assert created.status_code == 200, created.text
    open_admin_page(admin, server, "Users?q=rosalind%20marsh")

    expect(admin.locator("#users tbody tr")).to_have_count(1)
    expect(user_row(admin, "r.m@contoso.test")).to_contain_text("Rosalind Marsh")


def test_search_without_match_says_so(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server, "Users?q=nobody-has-this")

    expect(admin.locator("#users")).to_have_count(0)
    expect(admin.locator("#result-count")).to_contain_text("0 users match")


def test_add_administrator_with_password(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server, "Users")
    form = admin.locator("#add-user")

    form.get_by_label("E-mail address").fill("added.admin@contoso.test")
    form.get_by_label("First name").fill("Added")
    form.get_by_label("Last name").fill("Admin")
    form.get_by_label("Password (optional)").fill(NEW_PASSWORD)
    form.get_by_label("Administrator").check()
    form.get_by_role("button", name="Add user").click()

    expect(admin.locator("#notice")).to_have_text(
        "Added added.admin@contoso.test as an administrator."
    )
    row = user_row(admin, "added.admin@contoso.test")
    expect(row).to_contain_text("Added Admin")
    expect(row).to_contain_text("Administrator")
    with server.api() as api:
        users = {user["EmailAddress"]: user for user in api.get(f"/{ENVIRONMENT}/User").json()}
    assert users["added.admin@contoso.test"]["IsAdministrator"] is True
    assert users["added.admin@contoso.test"]["HasPassword"] is True


def test_add_is_audited_with_administrator_as_actor(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server, "Users")
    form = admin.locator("#add-user")
    form.get_by_label("E-mail address").fill("audited.add@contoso.test")
    form.get_by_role("button", name="Add user").click()
    expect(admin.locator("#notice")).to_be_visible()

    records = [
        r for r in audit_records(server, "user.create") if r["Target"] == "audited.add@contoso.test"
    ]

    assert len(records) == 1
    assert records[0]["ActorType"] == "Administrator"
    assert records[0]["Actor"] == ADMIN_EMAIL


def test_add_existing_address_shows_service_sentence(server: LiveServer, admin: Page) -> None:
    add_api_user(server, "taken@contoso.test")
    open_admin_page(admin, server, "Users")
    form = admin.locator("#add-user")

    form.get_by_label("E-mail address").fill("Taken@contoso.test")
    form.get_by_label("First name").fill("Second")
    form.get_by_role("button", name="Add user").click()

    expect(admin.locator("#email-error")).to_contain_text(
        "A user with EmailAddress 'Taken@contoso.test' already exists in environment 'contoso'"
    )
    expect(form.get_by_label("E-mail address")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("First name")).to_have_value("Second")


def test_add_rejects_weak_password(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server, "Users")
    form = admin.locator("#add-user")

    form.get_by_label("E-mail address").fill("weak@contoso.test")
    form.get_by_label("Password (optional)").fill("short")
    form.get_by_role("button", name="Add user").click()

    expect(admin.locator("#password-error")).to_have_text(
        "Password has 5 characters; use at least 8."
    )
    expect(form.get_by_label("Password (optional)")).to_have_value("")
    open_admin_page(admin, server, "Users?q=weak@contoso.test")
    expect(admin.locator("#users")).to_have_count(0)


def test_make_administrator_from_list(server: LiveServer, admin: Page) -> None:
    user_id = add_api_user(server, "promote@contoso.test")
    open_admin_page(admin, server, "Users?q=promote@")

    user_row(admin, "promote@contoso.test").get_by_role("button", name="Make administrator").click()

    expect(admin.locator("#notice")).to_have_text("promote@contoso.test is now an administrator.")
    assert "q=promote%40" in admin.url
    assert user_state(server, user_id)["IsAdministrator"] is True


def test_remove_administrator_from_list(server: LiveServer, admin: Page) -> None:
    user_id = add_api_user(server, "demote@contoso.test", is_administrator=True)
    open_admin_page(admin, server, "Users?q=demote@")

    user_row(admin, "demote@contoso.test").get_by_role(
        "button", name="Remove administrator"
    ).click()

    expect(admin.locator("#notice")).to_have_text(
        "demote@contoso.test is no longer an administrator."
    )
    assert user_state(server, user_id)["IsAdministrator"] is False


def test_role_change_is_audited_with_before_and_after(server: LiveServer, admin: Page) -> None:
    add_api_user(server, "audited.role@contoso.test")
    open_admin_page(admin, server, "Users?q=audited.role@")

    user_row(admin, "audited.role@contoso.test").get_by_role(
        "button", name="Make administrator"
    ).click()
    expect(admin.locator("#notice")).to_be_visible()

    record = next(
        r
        for r in audit_records(server, "user.update")
        if r["Target"] == "audited.role@contoso.test"
    )
    assert (record["ActorType"], record["Actor"]) == ("Administrator", ADMIN_EMAIL)
    assert record["Before"]["IsAdministrator"] is False
    assert record["After"]["IsAdministrator"] is True


def test_deactivate_from_list(server: LiveServer, admin: Page) -> None:
    user_id = add_api_user(server, "deactivate@contoso.test")
    open_admin_page(admin, server, "Users?q=deactivate@")

    user_row(admin, "deactivate@contoso.test").get_by_role(
        "button", name=re.compile(r"^Deactivate")
    ).click()

    expect(admin.locator("#notice")).to_contain_text("deactivate@contoso.test is deactivated")
    expect(user_row(admin, "deactivate@contoso.test")).to_contain_text("Deactivated")
    assert user_state(server, user_id)["IsActive"] is False


def test_activate_on_user_page(server: LiveServer, admin: Page) -> None:
    user_id = add_api_user(server, "reactivate@contoso.test")
    with server.api() as api:
        assert (
            api.put(f"/{ENVIRONMENT}/User/{user_id}", json={"IsActive": False}).status_code == 200
        )
    open_user(admin, server, user_id)

    admin.get_by_role("button", name="Activate").click()

    expect(admin.locator("#notice")).to_have_text(
        "reactivate@contoso.test is active again and can sign in."
    )
    expect(admin.locator("#user-status")).to_have_text("Active")
    assert user_state(server, user_id)["IsActive"] is True


def test_set_password_lets_user_sign_in(server: LiveServer, admin: Page, chromium: Browser) -> None:
    user_id = add_api_user(server, "password@contoso.test")
    open_user(admin, server, user_id)

    admin.get_by_label("New password (at least 8 characters)").fill(NEW_PASSWORD)
    admin.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    admin.get_by_role("button", name="Set password").click()

    expect(admin.locator("#notice")).to_contain_text("Set a new password for password@contoso.test")
    expect(admin.locator("#user-password")).to_have_text("set")
    fresh = new_isolated_context(chromium)
    try:
        page = sign_in(fresh, server, ENVIRONMENT, "password@contoso.test", NEW_PASSWORD)
        expect(page.locator("#user-email")).to_have_text("password@contoso.test")
    finally:
        fresh.close()


def test_set_password_rejects_mismatch(server: LiveServer, admin: Page) -> None:
    user_id = add_api_user(server, "mismatch@contoso.test")
    open_user(admin, server, user_id)

    admin.get_by_label("New password (at least 8 characters)").fill(NEW_PASSWORD)
    admin.get_by_label("Repeat the new password").fill(NEW_PASSWORD + "x")
    admin.get_by_role("button", name="Set password").click()

    expect(admin.locator("#password-error")).to_have_text(
        "The two passwords differ; type the same password twice."
    )
    assert user_state(server, user_id)["HasPassword"] is False


def test_delete_asks_for_confirmation_first(server: LiveServer, admin: Page) -> None:
    user_id = add_api_user(server, "confirm@contoso.test")
    open_admin_page(admin, server, "Users?q=confirm@")

    user_row(admin, "confirm@contoso.test").get_by_role("link", name="Manage").click()
    admin.get_by_role("link", name="Delete confirm@contoso.test…").click()

    expect(admin.get_by_role("heading", name="Delete confirm@contoso.test?")).to_be_visible()
    assert user_state(server, user_id)["EmailAddress"] == "confirm@contoso.test"


def test_delete_after_confirmation(server: LiveServer, admin: Page) -> None:
    user_id = add_api_user(server, "delete@contoso.test")
    open_admin_page(admin, server, f"Users/{user_id}/Delete")

    admin.get_by_role("button", name="Delete this user").click()

    expect(admin.locator("#notice")).to_have_text("Deleted delete@contoso.test.")
    assert admin.url == f"{server.url}/{ENVIRONMENT}/AdminPage/Users"
    assert user_state(server, user_id) == {}
    deleted = [
        r for r in audit_records(server, "user.delete") if r["Target"] == "delete@contoso.test"
    ]
    assert deleted[0]["Actor"] == ADMIN_EMAIL


def test_cancel_on_confirmation_keeps_user(server: LiveServer, admin: Page) -> None:
    user_id = add_api_user(server, "cancel@contoso.test")
    open_admin_page(admin, server, f"Users/{user_id}/Delete")

    admin.get_by_role("link", name="Cancel").click()

    expect(admin.locator("#user-email")).to_have_text("cancel@contoso.test")
    assert user_state(server, user_id)["EmailAddress"] == "cancel@contoso.test"


def test_unknown_user_gets_404_page(server: LiveServer, admin: Page) -> None:
    response = admin.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/Users/987654")

    assert response is not None
    assert response.status == 404
    expect(admin.get_by_role("heading", name="User not found")).to_be_visible()


# Only GET of the confirmation page exists; GET of an action's path changes nothing.


@pytest.mark.parametrize("action", ["Administrator", "Active", "Password", "Delete"])
def test_get_of_action_changes_nothing(server: LiveServer, admin: Page, action: str) -> None:
    email = f"get-{action.lower()}@contoso.test"
    user_id = add_api_user(server, email)
    before = user_state(server, user_id)

    response = admin.goto(
        f"{server.url}/{ENVIRONMENT}/AdminPage/Users/{user_id}/{action}"
        "?is_administrator=true&is_active=false&password=violet-harbour-lantern"
    )

    # Delete has a confirmation page; the other actions lead back to the user's page.
    assert response is not None
    assert response.status == 200
    expected_path = f"/{ENVIRONMENT}/AdminPage/Users/{user_id}"
    if action == "Delete":
        expected_path += "/Delete"
    assert admin.url.split("?")[0] == f"{server.url}{expected_path}"
    assert user_state(server, user_id) == before


# CSRF: a form without this browser's token changes nothing.


def test_forged_form_is_rejected(server: LiveServer, admin: Page) -> None:
    user_id = add_api_user(server, "forged@contoso.test")
    # Another port of 127.0.0.1 is another origin but the same site, so the browser sends
    # Hatchway's SameSite=Lax cookies with the forged POST; only the CSRF token stops it.
    forged_url = f"http://127.0.0.1:{free_port()}/prize"
    target = f"{server.url}/{ENVIRONMENT}/AdminPage/Users/{user_id}/Administrator"
    forged_page = (
        f'<form method="post" action="{target}">'
        '<input type="hidden" name="is_administrator" value="true">'
        '<input type="hidden" name="csrf_token" value="guessed-token">'
        "<button>Claim your prize</button></form>"
    )
    admin.route(forged_url, lambda route: route.fulfill(content_type="text/html", body=forged_page))
    try:
        admin.goto(forged_url)
        with admin.expect_navigation() as navigation:
            admin.get_by_role("button", name="Claim your prize").click()
    finally:
        admin.unroute(forged_url)

    response = navigation.value
    assert response is not None
    assert response.status == 403
    expect(admin.locator("#page-error")).to_have_text(
        "The form has expired; reload the page and try again."
    )
    assert user_state(server, user_id)["IsAdministrator"] is False


FORGED_FORMS = {
    "Administrator": {"is_administrator": "true"},
    "Active": {"is_active": "false"},
    "Password": {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    "Delete": {},
}


@pytest.mark.parametrize("action", sorted(FORGED_FORMS))
def test_action_without_csrf_token_rejected(server: LiveServer, admin: Page, action: str) -> None:
    user_id = add_api_user(server, f"csrf-{action.lower()}@contoso.test")
    before = user_state(server, user_id)
    open_admin_page(admin, server, "Users")

    response = admin.request.post(
        f"{server.url}/{ENVIRONMENT}/AdminPage/Users/{user_id}/{action}",
        form=FORGED_FORMS[action],
        max_redirects=0,
    )

    assert response.status == 403
    assert "The form has expired" in response.text()
    assert user_state(server, user_id) == before


def test_add_without_csrf_token_rejected(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server, "Users")

    response = admin.request.post(
        f"{server.url}/{ENVIRONMENT}/AdminPage/Users",
        form={"email": "csrf-add@contoso.test", "is_administrator": "true", "csrf_token": "x"},
        max_redirects=0,
    )

    assert response.status == 403
    with server.api() as api:
        emails = [user["EmailAddress"] for user in api.get(f"/{ENVIRONMENT}/User").json()]
    assert "csrf-add@contoso.test" not in emails


# The last active administrator stays: the service's sentence is shown, nothing changes.


@pytest.fixture(scope="module")
def solo(server: LiveServer, admin_context: BrowserContext) -> Page:
    """A page signed in to environment 'solo', whose only administrator is ADMIN_EMAIL."""
    with server.api() as api:
        create_environment(api, "solo")
    return sign_in(admin_context, server, "solo", ADMIN_EMAIL, ADMIN_PASSWORD)


LAST_ADMINISTRATOR = (
    "User 'admin@contoso.test' is the last active administrator of environment 'solo'; make "
    "another user an administrator first, so that someone can still manage the environment."
)


def solo_administrator(server: LiveServer) -> dict[str, Any]:
    with server.api() as api:
        users = api.get("/solo/User").json()
    administrator: dict[str, Any] = next(u for u in users if u["EmailAddress"] == ADMIN_EMAIL)
    return administrator


def test_last_administrator_cannot_be_demoted(server: LiveServer, solo: Page) -> None:
    solo.goto(f"{server.url}/solo/AdminPage/Users")

    user_row(solo, ADMIN_EMAIL).get_by_role("button", name="Remove administrator").click()

    expect(solo.locator("#page-error")).to_have_text(LAST_ADMINISTRATOR)
    assert solo_administrator(server)["IsAdministrator"] is True


def test_last_administrator_cannot_be_deactivated(server: LiveServer, solo: Page) -> None:
    solo.goto(f"{server.url}/solo/AdminPage/Users")

    user_row(solo, ADMIN_EMAIL).get_by_role("button", name="Deactivate").click()

    expect(solo.locator("#page-error")).to_have_text(LAST_ADMINISTRATOR)
    assert solo_administrator(server)["IsActive"] is True


def test_last_administrator_cannot_be_deleted(server: LiveServer, solo: Page) -> None:
    user_id = solo_administrator(server)["Id"]
    solo.goto(f"{server.url}/solo/AdminPage/Users/{user_id}/Delete")

    solo.get_by_role("button", name="Delete this user").click()

    expect(solo.locator("#page-error")).to_have_text(LAST_ADMINISTRATOR)
    assert solo_administrator(server)["Id"] == user_id
    records = audit_records(server, "user.delete", "solo")
    rejected = [record for record in records if record["Outcome"] == "rejected"]
    assert len(rejected) == 1
    assert (rejected[0]["ActorType"], rejected[0]["Actor"]) == ("Administrator", ADMIN_EMAIL)
    assert rejected[0]["Target"] == ADMIN_EMAIL


def test_last_administrator_page_explains_why(server: LiveServer, solo: Page) -> None:
    user_id = solo_administrator(server)["Id"]

    solo.goto(f"{server.url}/solo/AdminPage/Users/{user_id}")

    expect(solo.locator("#last-administrator")).to_contain_text(
        "This is the only active administrator."
    )


# An emergency session acts under its own actor type.


def test_emergency_session_change_is_audited_as_such(server: LiveServer, chromium: Browser) -> None:
    user_id = add_api_user(server, "by-emergency@contoso.test")
    with server.api() as api:
        issued = api.post(
            f"/{ENVIRONMENT}/EmergencyAccess",
            json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
        )
        assert issued.status_code == 200, issued.text
    context = new_isolated_context(chromium)
    try:
        page = context.new_page()
        page.goto(issued.json()["Url"])
        page.get_by_role("button", name="Sign in with emergency access").click()
        expect(page.locator("#emergency-banner")).to_be_visible()
        page.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/Users/{user_id}")
        page.get_by_role("button", name="Make administrator").click()
        expect(page.locator("#notice")).to_be_visible()
    finally:
        context.close()

    record = next(
        r
        for r in audit_records(server, "user.update")
        if r["Target"] == "by-emergency@contoso.test"
    )
    assert (record["ActorType"], record["Actor"]) == ("EmergencySession", ADMIN_EMAIL)
    assert user_state(server, user_id)["IsAdministrator"] is True
