"""The administration overview; the single sign-on page's tests are in tests/web/admin."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.support.accounts import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    add_user,
    create_environment,
    csrf_token,
)

SSO_PAGE = "/contoso/AdminPage/SingleSignOn"


def sign_in(client: TestClient, email: str = ADMIN_EMAIL) -> None:
    form = client.get("/contoso/SignIn?local=1")
    response = client.post(
        "/contoso/SignIn",
        data={
            "email": email,
            "password": ADMIN_PASSWORD,
            "local": "1",
            "return_to": "/contoso/",
            "csrf_token": csrf_token(form.text),
        },
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def administrator(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    sign_in(client)


def test_anonymous_visitor_is_sent_to_sign_in(api: TestClient, client: TestClient) -> None:
    create_environment(api)

    response = client.get("/contoso/AdminPage/")

    assert response.status_code == 303
    assert response.headers["location"] == "/contoso/SignIn?return_to=/contoso/AdminPage/"


def test_non_administrator_gets_403_page(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    add_user(api, "contoso", "user@contoso.test", is_administrator=False)
    sign_in(client, "user@contoso.test")

    for path in ("/contoso/AdminPage/", SSO_PAGE):
        response = client.get(path)
        assert response.status_code == 403
        assert "Administrators only" in response.text


def test_overview_links_to_sso(administrator: None, client: TestClient) -> None:
    page = client.get("/contoso/AdminPage/")

    assert page.status_code == 200
    assert "Administration of contoso" in page.text
    assert 'href="/contoso/AdminPage/SingleSignOn">Single sign-on settings</a>' in page.text
    assert 'id="emergency-banner"' not in page.text


def test_path_without_slash_redirects(administrator: None, client: TestClient) -> None:
    response = client.get("/contoso/AdminPage")

    assert response.status_code == 308
    assert response.headers["location"] == "/contoso/AdminPage/"
