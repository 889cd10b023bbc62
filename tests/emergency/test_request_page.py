"""The request page: the same page for every address, a mail only for administrators."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, EmergencyRequest, OutboxMessage
from hatchway.emergency import service
from hatchway.emergency.pages import REQUEST_ANSWER_FLOOR_SECONDS
from hatchway.mail.worker import OutboxWorker
from hatchway.security import ratelimit
from tests.support.accounts import (
    ADMIN_EMAIL,
    add_user,
    create_environment,
    csrf_token,
    link_in,
    redeem,
)
from tests.support.aio import run_async
from tests.support.hatchway import test_settings as make_settings
from tests.support.smtp import SmtpSink

PAGE = "/contoso/AdminPage/RequestEmergencyAdminAccess"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_sink: SmtpSink) -> Settings:
    return make_settings(
        tmp_path / "data", database_url, smtp_url=f"smtp://127.0.0.1:{smtp_sink.port}"
    )


@pytest.fixture
def environment(api: TestClient) -> str:
    name = create_environment(api)
    add_user(api, name, "user@contoso.test", is_administrator=False)
    return name


def submit(client: TestClient, email: str) -> tuple[int, str]:
    form = client.get(PAGE)
    response = client.post(PAGE, data={"email": email, "csrf_token": csrf_token(form.text)})
    return response.status_code, response.text


def test_form_has_email_field(client: TestClient, environment: str) -> None:
    page = client.get(PAGE)

    assert page.status_code == 200
    assert '<label for="email">E-mail address of your administrator account</label>' in page.text
    assert 'name="csrf_token"' in page.text


def test_answer_is_same_for_every_address(client: TestClient, environment: str) -> None:
    administrator = submit(client, ADMIN_EMAIL)
    user = submit(client, "user@contoso.test")
    stranger = submit(client, "nobody@contoso.test")

    assert administrator == user == stranger
    assert administrator[0] == 200
    assert "Check your e-mail" in administrator[1]
    assert "If the mail does not arrive" in administrator[1]


def test_response_time_floor_for_every_address(client: TestClient, environment: str) -> None:
    durations = {}
    for email in (ADMIN_EMAIL, "nobody@contoso.test"):
        form = client.get(PAGE)
        started = time.monotonic()
        client.post(PAGE, data={"email": email, "csrf_token": csrf_token(form.text)})
        durations[email] = time.monotonic() - started

    assert min(durations.values()) >= REQUEST_ANSWER_FLOOR_SECONDS


def test_administrator_gets_working_link(
    client: TestClient, context: AppContext, environment: str, smtp_sink: SmtpSink
) -> None:
    submit(client, "ADMIN@Contoso.test")
    run_async(OutboxWorker(context).run_once())
    message = smtp_sink.wait_for_message()

    assert message["To"] == ADMIN_EMAIL
    assert redeem(client, link_in(message)).status_code == 303


def test_mail_names_expiry_and_origin(
    client: TestClient, context: AppContext, environment: str, smtp_sink: SmtpSink
) -> None:
    submit(client, ADMIN_EMAIL)
    run_async(OutboxWorker(context).run_once())
    body = smtp_sink.wait_for_message().get_content()

    assert "The link works once and expires at" in body
    assert "from the address testclient" in body


def test_non_administrator_gets_no_request_or_mail(
    client: TestClient, context: AppContext, environment: str
) -> None:
    submit(client, "user@contoso.test")
    submit(client, "nobody@contoso.test")

    with context.database.read() as session:
        assert session.scalars(select(EmergencyRequest)).all() == []
        assert session.scalars(select(OutboxMessage)).all() == []


def test_ignored_request_is_audited_without_address(
    client: TestClient, context: AppContext, environment: str
) -> None:
    submit(client, "nobody@contoso.test")

    with context.database.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "emergency.request")
        ).one()
    assert record.outcome == "ignored"
    assert record.actor_type == "Anonymous"
    assert "nobody@contoso.test" not in f"{record.target} {record.detail}"


def test_request_is_audited_for_administrator(
    client: TestClient, context: AppContext, environment: str
) -> None:
    submit(client, ADMIN_EMAIL)

    with context.database.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "emergency.request")
        ).one()
    assert record.outcome == "success"
    assert record.target == ADMIN_EMAIL
    assert "through RequestPage, delivery Email" in (record.detail or "")


def test_logs_hide_requested_address(
    client: TestClient, environment: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hatchway")
    submit(client, ADMIN_EMAIL)
    submit(client, "nobody@contoso.test")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "emergency.requested environment=contoso" in logged
    assert "emergency.request_ignored environment=contoso address=" in logged
    assert "@contoso.test" not in logged


def test_form_without_csrf_is_refused(
    client: TestClient, context: AppContext, environment: str
) -> None:
    client.get(PAGE)

    response = client.post(PAGE, data={"email": ADMIN_EMAIL})

    assert response.status_code == 403
    assert "The form has expired" in response.text
    with context.database.read() as session:
        assert session.scalars(select(EmergencyRequest)).all() == []


def test_address_without_at_sign_is_400(client: TestClient, environment: str) -> None:
    status, text = submit(client, "admin")

    assert status == 400
    assert "Enter the e-mail address of your administrator account" in text


def test_unknown_environment_is_404(client: TestClient) -> None:
    page = client.get("/nowhere/AdminPage/RequestEmergencyAdminAccess")

    assert page.status_code == 404
    assert "Environment not found" in page.text


def test_deactivated_environment_is_refused(
    api: TestClient, client: TestClient, environment: str
) -> None:
    form = client.get(PAGE)
    api.put("/Environment/contoso/Deactivate")

    response = client.post(PAGE, data={"email": ADMIN_EMAIL, "csrf_token": csrf_token(form.text)})

    assert response.status_code == 403
    assert "Environment deactivated" in response.text


def test_client_over_limit_gets_429_page(
    client: TestClient, context: AppContext, environment: str
) -> None:
    statuses = [submit(client, ADMIN_EMAIL)[0] for _ in range(service.PAGE_PER_CLIENT.limit)]
    status, text = submit(client, ADMIN_EMAIL)

    assert statuses == [200] * service.PAGE_PER_CLIENT.limit
    assert status == 429
    assert "Too many requests" in text
    assert "at most 5 per 15 minutes from one address" in text
    assert "Delivery &#39;Response&#39;" in text


def test_rate_limited_page_has_retry_after(client: TestClient, environment: str) -> None:
    for _ in range(service.PAGE_PER_CLIENT.limit):
        submit(client, "nobody@contoso.test")
    form = client.get(PAGE)

    response = client.post(PAGE, data={"email": ADMIN_EMAIL, "csrf_token": csrf_token(form.text)})

    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 900


def test_environment_over_limit_gets_429_page(
    client: TestClient, context: AppContext, environment: str
) -> None:
    now = context.now()
    with context.database.write() as session:
        for _ in range(service.PAGE_PER_ENVIRONMENT.limit):
            ratelimit.record(session, service.PAGE_PER_ENVIRONMENT, environment, now)

    status, text = submit(client, ADMIN_EMAIL)

    assert status == 429
    assert "for one environment" in text
    with context.database.read() as session:
        assert session.scalars(select(EmergencyRequest)).all() == []
