"""The audit log page in Chromium: newest first, filters, paging, readable values, no secrets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.admin.conftest import ENVIRONMENT, open_admin_page
from tests.support.accounts import ADMIN_EMAIL, add_user
from tests.support.hatchway import LiveServer
from tests.support.ports import free_port

pytestmark = pytest.mark.browser

CANARY_KEY = "canary-key-value-audit-7f3a"


def api_page(server: LiveServer, **params: object) -> dict[str, Any]:
    with server.api() as api:
        response = api.get(f"/{ENVIRONMENT}/AuditLog", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def shown_ids(page: Page) -> list[int]:
    ids = page.locator("#audit-records > tbody > tr").evaluate_all(
        "rows => rows.map(row => row.id)"
    )
    return [int(identifier.removeprefix("record-")) for identifier in ids]


def shown_actions(page: Page) -> set[str]:
    actions = page.locator("#audit-records > tbody > tr").evaluate_all(
        "rows => rows.map(row => row.dataset.action)"
    )
    return set(actions)


def test_records_are_newest_first(server: LiveServer, admin: Page) -> None:
    with server.api() as api:
        add_user(api, ENVIRONMENT, "first@contoso.test", is_administrator=False, password=None)
        add_user(api, ENVIRONMENT, "second@contoso.test", is_administrator=False, password=None)

    open_admin_page(admin, server, "AuditLog")

    ids = shown_ids(admin)
    assert ids == sorted(ids, reverse=True)
    assert ids == [record["Id"] for record in api_page(server)["Records"]]
    expect(admin.locator("#audit-records > tbody > tr").first).to_contain_text(
        "second@contoso.test"
    )


def test_filter_by_action(server: LiveServer, admin: Page) -> None:
    with server.api() as api:
        user_id = add_user(api, ENVIRONMENT, "filtered@contoso.test", is_administrator=False)
        assert api.put(f"/{ENVIRONMENT}/User/{user_id}", json={"FirstName": "F"}).status_code == 200
    open_admin_page(admin, server, "AuditLog")

    admin.get_by_label("Action").select_option("user.update")
    admin.get_by_role("button", name="Filter").click()

    assert "action=user.update" in admin.url
    assert shown_actions(admin) == {"user.update"}
    expected = [r["Id"] for r in api_page(server, action="user.update")["Records"]]
    assert shown_ids(admin) == expected


def test_filter_by_actor(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server, "Users")
    form = admin.locator("#add-user")
    form.get_by_label("E-mail address").fill("by-admin@contoso.test")
    form.get_by_role("button", name="Add user").click()
    expect(admin.locator("#notice")).to_be_visible()
    open_admin_page(admin, server, "AuditLog")

    admin.get_by_label("Actor (exact name)").fill(ADMIN_EMAIL)
    admin.get_by_role("button", name="Filter").click()

    rows = admin.locator("#audit-records > tbody > tr")
    expect(rows.first).to_contain_text("by-admin@contoso.test")
    for index in range(rows.count()):
        expect(rows.nth(index).locator("td").nth(1)).to_contain_text(ADMIN_EMAIL)
    assert shown_ids(admin) == [r["Id"] for r in api_page(server, actor=ADMIN_EMAIL)["Records"]]


def test_filter_without_match_says_so(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server, "AuditLog?actor=nobody-acted")

    expect(admin.locator("#no-records")).to_have_text("No records match these filters.")


def test_paging_follows_api_pages(server: LiveServer, admin: Page) -> None:
    with server.api() as api:
        for number in range(7):
            add_user(
                api,
                ENVIRONMENT,
                f"page{number}@contoso.test",
                is_administrator=False,
                password=None,
            )
    first = api_page(server, action="user.create", limit=3)
    second = api_page(server, action="user.create", limit=3, before=first["NextBefore"])
    open_admin_page(admin, server, "AuditLog?action=user.create&limit=3")
    assert shown_ids(admin) == [r["Id"] for r in first["Records"]]

    admin.get_by_role("link", name="Older records").click()
    # A click only starts the navigation; reading the rows before the next page has loaded
    # finds none.
    admin.wait_for_url(lambda url: "before=" in url)

    assert shown_ids(admin) == [r["Id"] for r in second["Records"]]
    assert f"before={first['NextBefore']}" in admin.url
    assert "action=user.create" in admin.url
    admin.get_by_role("link", name="Newest records").click()
    admin.wait_for_url(lambda url: "before=" not in url)
    assert shown_ids(admin) == [r["Id"] for r in first["Records"]]


def test_last_page_has_no_older_link(server: LiveServer, admin: Page) -> None:
    open_admin_page(admin, server, "AuditLog?action=environment.create")

    expect(admin.locator("#audit-records > tbody > tr")).to_have_count(1)
    expect(admin.get_by_role("link", name="Older records")).to_have_count(0)


def test_update_shows_changed_values_only(server: LiveServer, admin: Page) -> None:
    with server.api() as api:
        user_id = add_user(api, ENVIRONMENT, "values@contoso.test", is_administrator=False)
        changed = api.put(f"/{ENVIRONMENT}/User/{user_id}", json={"IsAdministrator": True})
        assert changed.status_code == 200, changed.text
    open_admin_page(admin, server, "AuditLog?action=user.update")

    row = admin.locator("#audit-records > tbody > tr", has_text="values@contoso.test").first
    changes = row.locator("table.changes tbody tr")

    expect(changes).to_have_count(1)
    expect(changes.locator("th")).to_have_text("IsAdministrator")
    expect(changes.locator("td.before")).to_have_text("no")
    expect(changes.locator("td.after")).to_have_text("yes")


def test_creation_shows_values_after(server: LiveServer, admin: Page) -> None:
    with server.api() as api:
        add_user(api, ENVIRONMENT, "created@contoso.test", is_administrator=False, password=None)
    open_admin_page(admin, server, "AuditLog?action=user.create")

    row = admin.locator("#audit-records > tbody > tr", has_text="created@contoso.test").first
    changes = row.locator("table.changes")

    expect(changes.locator("thead th")).to_have_text(["Field", "After"])
    expect(changes.locator("tbody tr", has_text="EmailAddress").locator("td")).to_have_text(
        "created@contoso.test"
    )
    expect(changes.locator("tbody tr", has_text="PasswordSet").locator("td")).to_have_text("no")


def test_sso_change_shows_fingerprint_never_key(server: LiveServer, admin: Page) -> None:
    with server.api() as api:
        response = api.put(
            f"/{ENVIRONMENT}/SingleSignOnSettings/OAuth2",
            params={"verify": "false"},
            json={
                "Authority": "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
                "ClientId": "00000000-0000-0000-0000-0000000000c1",
                "Key": CANARY_KEY,
            },
        )
        assert response.status_code == 200, response.text
        # Back to mode None, so that the module's other tests see the page as before.
        assert api.delete(f"/{ENVIRONMENT}/SingleSignOnSettings/OAuth2").status_code == 200

    open_admin_page(admin, server, "AuditLog?action=sso.update")

    row = admin.locator("#audit-records > tbody > tr").first
    expect(row.locator("table.changes tbody tr", has_text="KeyFingerprint")).to_have_count(1)
    expect(row.locator("table.changes tbody tr", has_text="Mode").locator("td.after")).to_have_text(
        "OAuth2"
    )
    assert CANARY_KEY not in admin.content()


def test_rejected_change_shows_values_as_proposed(server: LiveServer, admin: Page) -> None:
    body = {"Authority": f"http://127.0.0.1:{free_port()}", "ClientId": "rejected-client"}
    with server.api() as api:
        refused = api.put(
            f"/{ENVIRONMENT}/SingleSignOnSettings/OAuth2", json={**body, "Key": CANARY_KEY}
        )
    assert refused.status_code == 400
    record = next(
        r for r in api_page(server, action="sso.update")["Records"] if r["Outcome"] == "rejected"
    )

    open_admin_page(admin, server, "AuditLog?action=sso.update")

    row = admin.locator(f"#record-{record['Id']}")
    expect(row.locator("thead")).to_have_text("FieldProposed, not saved")
    expect(row).to_contain_text("rejected-client")
    expect(row).not_to_contain_text(CANARY_KEY)


def test_invalid_page_position_is_explained(server: LiveServer, admin: Page) -> None:
    response = admin.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/AuditLog?before=yesterday")

    assert response is not None
    assert response.status == 400
    expect(admin.locator("#page-error")).to_have_text(
        re.compile(r"before 'yesterday' is not a whole number from 1 to \d+")
    )


def test_unstorable_actor_filter_finds_nothing(server: LiveServer, admin: Page) -> None:
    response = admin.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/AuditLog?actor=a%00b")

    assert response is not None
    assert response.status == 200
    expect(admin.locator("#no-records")).to_be_visible()
