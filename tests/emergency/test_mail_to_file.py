"""Without an SMTP server: the link goes to an .eml file, and the pages tell the reader so."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.mail.worker import OutboxWorker
from tests.admin.test_pages import sign_in
from tests.support.accounts import ADMIN_EMAIL, create_environment, csrf_token
from tests.support.aio import run_async

REQUEST_PAGE = "/contoso/AdminPage/RequestEmergencyAdminAccess"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    assert settings.smtp_url is None
    return settings


@pytest.fixture
def environment(api: TestClient) -> str:
    return create_environment(api)


def deliver(context: AppContext) -> int:
    return run_async(OutboxWorker(context).run_once())


def test_listing_shows_written_status_and_file(
    api: TestClient, context: AppContext, environment: str
) -> None:
    api.post(f"/{environment}/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})
    deliver(context)

    [entry] = api.get(f"/{environment}/EmergencyAccess").json()

    [path] = (context.settings.data_dir / "mail").glob("*.eml")
    assert entry["DeliveryStatus"] == "Written"
    assert entry["LastReply"] == (
        f"no SMTP server is configured; written to the file mail/{path.name} in the data folder"
    )
    assert entry["SentOn"] is not None


def test_eml_file_holds_the_link_whole(
    api: TestClient, context: AppContext, environment: str
) -> None:
    api.post(f"/{environment}/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})
    deliver(context)

    [path] = (context.settings.data_dir / "mail").glob("*.eml")
    raw = path.read_bytes().decode("ascii")
    [link] = [line for line in raw.splitlines() if "?token=" in line]
    assert "Content-Transfer-Encoding: 7bit" in raw
    assert link.startswith("http://127.0.0.1/contoso/AdminPage/EmergencyAccess?token=")
    assert "=3D" not in link
    assert not link.endswith("=")
    assert len(link) > 78


def test_request_page_names_the_file_route(
    client: TestClient, context: AppContext, environment: str
) -> None:
    form = client.get(REQUEST_PAGE)
    response = client.post(
        REQUEST_PAGE, data={"email": ADMIN_EMAIL, "csrf_token": csrf_token(form.text)}
    )

    assert response.status_code == 200
    assert "Ask the server&#39;s operator" in response.text
    assert "no mail server configured, so no e-mail goes out" in response.text
    text = " ".join(response.text.split())
    assert "<code>.eml</code> file in the <code>mail</code> folder of Hatchway's data" in text
    assert "If the mail does not arrive" not in response.text
    assert str(context.settings.data_dir) not in response.text
    assert "Check your e-mail" not in response.text


def test_openapi_says_sent_on_of_written_mail(api: TestClient) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]

    description = schemas["EmergencyRequestOut"]["properties"]["SentOn"]["description"]

    assert "for Written, when the mail file was written" in description


def test_admin_page_shows_written_and_explains_it(
    api: TestClient, client: TestClient, context: AppContext, environment: str
) -> None:
    api.post(f"/{environment}/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})
    deliver(context)
    sign_in(client)

    page = client.get("/contoso/AdminPage/EmergencyAccess")

    assert page.status_code == 200
    assert '<span class="status status-written">Written</span>' in page.text
    assert "No SMTP server is configured (HATCHWAY_SMTP_URL is unset)" in page.text
    assert "in the data folder" in page.text
    assert ">sent " not in page.text


def test_link_error_page_without_smtp_names_mail_folder(
    environment: str, client: TestClient
) -> None:
    page = client.get(f"/{environment}/AdminPage/EmergencyAccess?token=made-up")

    assert page.status_code == 404
    assert "This server sends no e-mail" in page.text
    assert "the mail folder of Hatchway&#39;s data folder" in page.text
    assert "If the mail does not arrive" not in page.text
