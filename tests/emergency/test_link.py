"""The one-time link: a GET shows a button, only the POST signs in, once, within 15 minutes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, EmergencyRequest, SessionRecord
from hatchway.db.types import utcnow
from hatchway.mail.worker import OutboxWorker
from tests.support.accounts import (
    ADMIN_EMAIL,
    add_user,
    create_environment,
    csrf_token,
    path_of,
    redeem,
    token_of,
)
from tests.support.aio import run_async
from tests.support.hatchway import test_settings as make_settings
from tests.support.smtp import SmtpSink


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_sink: SmtpSink) -> Settings:
    return make_settings(
        tmp_path / "data", database_url, smtp_url=f"smtp://127.0.0.1:{smtp_sink.port}"
    )


def issue_link(api: TestClient, environment: str = "contoso", email: str = ADMIN_EMAIL) -> str:
    response = api.post(
        f"/{environment}/EmergencyAccess", json={"EmailAddress": email, "Delivery": "Response"}
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["Url"]
    return url


class Clock:
    """A clock that tests move forward."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(context: AppContext) -> Clock:
    fake = Clock()
    context.clock = fake
    return fake


def test_get_shows_button_and_redeems_nothing(
    api: TestClient, client: TestClient, context: AppContext
) -> None:
    create_environment(api)
    url = issue_link(api)

    page = client.get(path_of(url))

    assert page.status_code == 200
    assert "Sign in with emergency access" in page.text
    assert f'name="token" value="{token_of(url)}"' in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    with context.database.read() as session:
        assert session.scalars(select(EmergencyRequest.redeemed_at)).one() is None


def test_repeated_gets_leave_link_usable(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    url = issue_link(api)
    for _ in range(3):
        client.get(path_of(url))

    assert redeem(client, url).status_code == 303


def test_post_starts_emergency_session_on_sso_page(
    api: TestClient, client: TestClient, context: AppContext
) -> None:
    create_environment(api)
    url = issue_link(api)

    response = redeem(client, url)

    assert response.status_code == 303
    assert response.headers["location"] == "/contoso/AdminPage/SingleSignOn"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hatchway_session=")
    assert "HttpOnly" in cookie
    assert "Path=/contoso" in cookie
    with context.database.read() as session:
        record = session.scalars(select(SessionRecord)).one()
    assert record.kind == "emergency"
    assert record.expires_at - record.created_at == timedelta(minutes=60)


def test_landing_page_offers_configure_action(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    redeem(client, issue_link(api))

    page = client.get("/contoso/AdminPage/SingleSignOn")

    assert page.status_code == 200
    assert '<a class="button" href="#configure">Configure single sign-on</a>' in page.text
    assert "You are signed in with emergency access as admin@contoso.test" in page.text


def test_second_post_says_link_was_used(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    url = issue_link(api)
    redeem(client, url)
    page = client.get("/contoso/AdminPage/RequestEmergencyAdminAccess")

    again = client.post(
        urlsplit(url).path, data={"csrf_token": csrf_token(page.text), "token": token_of(url)}
    )

    assert again.status_code == 410
    assert "This emergency link was already used" in again.text
    assert "Request a new emergency link" in again.text


def test_used_link_get_says_used(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    url = issue_link(api)
    redeem(client, url)

    page = client.get(path_of(url))

    assert page.status_code == 410
    assert "This emergency link was already used" in page.text
    assert "If the mail does not arrive" not in page.text


def test_expired_link_says_expired(api: TestClient, client: TestClient, clock: Clock) -> None:
    create_environment(api)
    url = issue_link(api)
    page = client.get(path_of(url))
    clock.now += timedelta(minutes=15, seconds=1)

    response = client.post(
        urlsplit(url).path, data={"csrf_token": csrf_token(page.text), "token": token_of(url)}
    )

    assert response.status_code == 410
    assert "This emergency link has expired" in response.text
    assert "valid for 15 minutes" in response.text
    assert "/contoso/AdminPage/RequestEmergencyAdminAccess" in response.text


def test_link_works_just_before_expiry(api: TestClient, client: TestClient, clock: Clock) -> None:
    create_environment(api)
    url = issue_link(api)
    clock.now += timedelta(minutes=14, seconds=59)

    assert redeem(client, url).status_code == 303


def test_link_of_other_environment_is_refused(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    create_environment(api, "fabrikam", "admin@fabrikam.test")
    url = issue_link(api, "fabrikam", "admin@fabrikam.test")
    foreign = path_of(url).replace("/fabrikam/", "/contoso/")

    page = client.get(foreign)

    assert page.status_code == 404
    assert "This emergency link is for another environment" in page.text


def test_link_of_other_environment_stays_usable(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    create_environment(api, "fabrikam", "admin@fabrikam.test")
    url = issue_link(api, "fabrikam", "admin@fabrikam.test")
    page = client.get(path_of(url))
    client.post(
        "/contoso/AdminPage/EmergencyAccess",
        data={"csrf_token": csrf_token(page.text), "token": token_of(url)},
    )

    assert redeem(client, url).status_code == 303


def test_unknown_token_says_not_valid(api: TestClient, client: TestClient) -> None:
    create_environment(api)

    page = client.get("/contoso/AdminPage/EmergencyAccess?token=made-up")

    assert page.status_code == 404
    assert "This emergency link is not valid" in page.text


def test_empty_token_says_not_valid(api: TestClient, client: TestClient) -> None:
    create_environment(api)

    page = client.get("/contoso/AdminPage/EmergencyAccess?token=")

    assert page.status_code == 404
    assert "This emergency link is not valid" in page.text


def test_path_without_token_is_the_administrators_list(api: TestClient, client: TestClient) -> None:
    create_environment(api)

    page = client.get("/contoso/AdminPage/EmergencyAccess")

    assert page.status_code == 303
    assert page.headers["location"] == (
        "/contoso/SignIn?return_to=/contoso/AdminPage/EmergencyAccess"
    )


def test_post_without_csrf_does_not_burn_link(
    api: TestClient, client: TestClient, context: AppContext
) -> None:
    create_environment(api)
    url = issue_link(api)
    client.get(path_of(url))

    forged = client.post(urlsplit(url).path, data={"token": token_of(url)})

    assert forged.status_code == 403
    assert "Press the button again" in forged.text
    with context.database.read() as session:
        assert session.scalars(select(EmergencyRequest.redeemed_at)).one() is None
    assert redeem(client, url).status_code == 303


def test_link_of_demoted_administrator_is_refused(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    second = add_user(api, "contoso", "second@contoso.test", is_administrator=True)
    url = issue_link(api, email="second@contoso.test")
    api.put(f"/contoso/User/{second}", json={"IsAdministrator": False})

    page = client.get(path_of(url))

    assert page.status_code == 403
    assert "no longer an active administrator" in page.text


def test_link_of_deactivated_environment_is_refused(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    url = issue_link(api)
    api.put("/Environment/contoso/Deactivate")

    page = client.get(path_of(url))

    assert page.status_code == 403
    assert "Environment deactivated" in page.text


def test_emergency_session_reaches_admin_pages_only(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    redeem(client, issue_link(api))

    home = client.get("/contoso/")
    password = client.get("/contoso/ChangePassword")
    admin = client.get("/contoso/AdminPage/")

    assert home.status_code == 303
    assert home.headers["location"] == "/contoso/AdminPage/"
    assert password.status_code == 303
    assert password.headers["location"] == "/contoso/AdminPage/"
    assert admin.status_code == 200


def test_emergency_session_ends_after_sixty_minutes(
    api: TestClient, client: TestClient, clock: Clock
) -> None:
    create_environment(api)
    redeem(client, issue_link(api))
    clock.now += timedelta(minutes=60, seconds=1)

    response = client.get("/contoso/AdminPage/")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/contoso/SignIn?return_to=")


def test_redemption_is_audited_without_token(
    api: TestClient, client: TestClient, context: AppContext
) -> None:
    create_environment(api)
    url = issue_link(api)
    redeem(client, url)

    with context.database.read() as session:
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "emergency.redeem")
        ).all()
    assert len(records) == 1
    assert records[0].actor_type == "EmergencySession"
    assert records[0].target == ADMIN_EMAIL
    assert records[0].outcome == "success"
    assert token_of(url) not in (records[0].detail or "")


def test_rejected_redemption_is_audited(
    api: TestClient, client: TestClient, context: AppContext
) -> None:
    create_environment(api)
    url = issue_link(api)
    redeem(client, url)
    page = client.get("/contoso/AdminPage/RequestEmergencyAdminAccess")
    client.post(
        "/contoso/AdminPage/EmergencyAccess",
        data={"csrf_token": csrf_token(page.text), "token": token_of(url)},
    )

    with context.database.read() as session:
        outcomes = session.scalars(
            select(AuditRecord.outcome).where(AuditRecord.action == "emergency.redeem")
        ).all()
    assert sorted(outcomes) == ["rejected", "success"]


def test_other_administrators_get_notice(
    api: TestClient, client: TestClient, context: AppContext, smtp_sink: SmtpSink
) -> None:
    create_environment(api)
    add_user(api, "contoso", "second@contoso.test", is_administrator=True)
    add_user(api, "contoso", "user@contoso.test", is_administrator=False)
    redeem(client, issue_link(api))

    run_async(OutboxWorker(context).run_once())
    notice = smtp_sink.wait_for_message()

    assert [message["To"] for message in smtp_sink.messages] == ["second@contoso.test"]
    assert notice["Subject"] == "Emergency access was used in 'contoso'"
    assert "Ada Admin (admin@contoso.test) signed in" in notice.get_content()
    assert "EmergencyAccess?token=" not in notice.get_content()
