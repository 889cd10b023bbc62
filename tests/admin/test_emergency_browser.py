"""The emergency access page in Chromium: the requests and their mail, as the API lists them.

The outbox worker does not run on its own here. Each test runs one pass where it needs one, so
a queued request stays queued until then.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from hatchway.config import Settings
from hatchway.mail.worker import OutboxWorker
from tests.admin.conftest import ENVIRONMENT, open_admin_page
from tests.support.accounts import ADMIN_EMAIL
from tests.support.aio import run_async
from tests.support.hatchway import LiveServer
from tests.support.hatchway import test_settings as make_settings
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def module_smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def module_settings(
    tmp_path_factory: pytest.TempPathFactory, module_database_url: str, module_smtp_sink: SmtpSink
) -> Settings:
    return make_settings(
        tmp_path_factory.mktemp("admin-data"),
        module_database_url,
        smtp_url=f"smtp://127.0.0.1:{module_smtp_sink.port}",
        outbox_first_retry_seconds=600.0,
    )


def request_link(server: LiveServer, delivery: str) -> int:
    with server.api() as api:
        response = api.post(
            f"/{ENVIRONMENT}/EmergencyAccess",
            json={"EmailAddress": ADMIN_EMAIL, "Delivery": delivery},
        )
    assert response.status_code == 200, response.text
    request_id: int = response.json()["RequestId"]
    return request_id


def deliver_due_mail(server: LiveServer) -> None:
    run_async(OutboxWorker(server.context).run_once())


def listed(server: LiveServer) -> dict[int, dict[str, Any]]:
    with server.api() as api:
        response = api.get(f"/{ENVIRONMENT}/EmergencyAccess")
    assert response.status_code == 200, response.text
    return {item["RequestId"]: item for item in response.json()}


def request_row(page: Page, request_id: int) -> Locator:
    return page.locator(f"#request-{request_id}")


def test_queued_request_is_listed(server: LiveServer, admin: Page) -> None:
    request_id = request_link(server, "Email")

    open_admin_page(admin, server, "EmergencyAccess")

    row = request_row(admin, request_id)
    expect(row.locator(".delivery-status")).to_have_text("Queued")
    expect(row.locator(".attempts")).to_have_text("0")
    expect(row.locator(".last-reply")).to_have_text("—")
    expect(row).to_contain_text(ADMIN_EMAIL)
    expect(row).to_contain_text("ProvisioningApi")
    assert listed(server)[request_id]["DeliveryStatus"] == "Queued"


def test_sent_request_shows_smtp_reply(
    server: LiveServer, admin: Page, module_smtp_sink: SmtpSink
) -> None:
    request_id = request_link(server, "Email")
    deliver_due_mail(server)

    open_admin_page(admin, server, "EmergencyAccess")

    row = request_row(admin, request_id)
    expect(row.locator(".delivery-status")).to_have_text("Sent")
    expect(row.locator(".attempts")).to_have_text("1")
    expect(row.locator(".last-reply")).to_have_text(listed(server)[request_id]["LastReply"])
    expect(row.locator(".last-reply")).to_contain_text("250")


def test_refused_mail_shows_retrying_and_reply(
    server: LiveServer, admin: Page, module_smtp_sink: SmtpSink
) -> None:
    request_id = request_link(server, "Email")
    module_smtp_sink.refuse_next(1, 451, "4.3.0 Mailbox busy, try later")
    deliver_due_mail(server)

    open_admin_page(admin, server, "EmergencyAccess")

    row = request_row(admin, request_id)
    expect(row.locator(".delivery-status")).to_have_text("Retrying")
    expect(row.locator(".last-reply")).to_contain_text("451 4.3.0 Mailbox busy, try later")


def test_link_in_response_is_not_mailed(server: LiveServer, admin: Page) -> None:
    request_id = request_link(server, "Response")

    open_admin_page(admin, server, "EmergencyAccess")

    row = request_row(admin, request_id)
    expect(row.locator(".delivery-status")).to_have_text("NotMailed")
    expect(row.locator(".link-state")).to_contain_text("open until")


def test_rows_match_provisioning_api(server: LiveServer, admin: Page) -> None:
    request_link(server, "Response")
    api_rows = listed(server)

    open_admin_page(admin, server, "EmergencyAccess")

    ids = admin.locator("#emergency-requests tbody tr").evaluate_all(
        "rows => rows.map(row => Number(row.id.replace('request-', '')))"
    )
    assert ids == list(api_rows)
    for request_id, item in api_rows.items():
        row = request_row(admin, request_id)
        expect(row.locator(".delivery-status")).to_have_text(item["DeliveryStatus"])
        expect(row.locator(".attempts")).to_have_text(str(item["Attempts"]))


def test_link_page_still_opens_with_token(server: LiveServer, admin: Page) -> None:
    with server.api() as api:
        url = api.post(
            f"/{ENVIRONMENT}/EmergencyAccess",
            json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
        ).json()["Url"]

    admin.goto(url)

    expect(admin.get_by_role("button", name="Sign in with emergency access")).to_be_visible()
    expect(admin.locator("#emergency-requests")).to_have_count(0)
