"""The local sign-in form: mode None, the documented ?local=1 way around a broken provider."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from hatchway.mail.worker import OutboxWorker
from tests.support.aio import run_async

PASSWORD = "a-long-local-password"
ADMIN = "ada@contoso.test"
USER = "bob@contoso.test"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def environment(api: TestClient) -> str:
    created = api.post(
        "/Environment/",
        json={
            "EnvironmentName": "contoso",
            "EmailAddress": ADMIN,
            "FirstName": "Ada",
            "LastName": "Admin",
            "Password": PASSWORD,
        },
    )
    assert created.status_code == 200, created.text
    user = api.post("/contoso/User/", json={"EmailAddress": USER, "Password": PASSWORD})
    assert user.status_code == 200, user.text
    return "contoso"


def form_token(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = _TOKEN.search(page.text)
    assert match is not None, "the page has no CSRF token"
    return match.group(1)


def post_sign_in(
    client: TestClient, environment: str, email: str, password: str, *, local: bool = False
) -> tuple[int, str, str]:
    query = "?local=1" if local else ""
    token = form_token(client, f"/{environment}/SignIn{query}")
    response = client.post(
        f"/{environment}/SignIn",
        data={
            "email": email,
            "password": password,
            "csrf_token": token,
            "return_to": "",
            "local": "1" if local else "",
        },
    )
    return response.status_code, response.headers.get("location", ""), response.text


def set_oauth2(api: TestClient, environment: str) -> None:
    response = api.put(
        f"/{environment}/SingleSignOnSettings/OAuth2?verify=false",
        json={"Authority": "http://127.0.0.1:9", "ClientId": "portal", "Key": "secret-value"},
    )
    assert response.status_code == 200, response.text


def test_mode_none_shows_the_password_form(client: TestClient, environment: str) -> None:
    page = client.get(f"/{environment}/SignIn")

    assert page.status_code == 200
    assert 'name="password"' in page.text
    assert "Sign in to contoso" in page.text


def test_right_password_starts_a_local_session(client: TestClient, environment: str) -> None:
    status, location, _ = post_sign_in(client, environment, "ADA@contoso.test", PASSWORD)

    assert status == 303
    assert location == f"/{environment}/"
    home = client.get(location)
    assert home.status_code == 200
    assert ADMIN in home.text
    assert "a password" in home.text


def test_wrong_password_is_refused_without_saying_which_part(
    client: TestClient, environment: str
) -> None:
    status, _, text = post_sign_in(client, environment, ADMIN, "wrong-password")

    assert status == 401
    assert "The e-mail address or the password is wrong." in text
    assert "hatchway_session" not in client.cookies


def test_unknown_address_gets_the_same_answer(client: TestClient, environment: str) -> None:
    status, _, text = post_sign_in(client, environment, "nobody@contoso.test", PASSWORD)

    assert status == 401
    assert "The e-mail address or the password is wrong." in text


def test_form_without_csrf_token_is_refused(client: TestClient, environment: str) -> None:
    client.get(f"/{environment}/SignIn")

    response = client.post(
        f"/{environment}/SignIn", data={"email": ADMIN, "password": PASSWORD, "csrf_token": "x"}
    )

    assert response.status_code == 403
    assert "The form has expired" in response.text
    assert "hatchway_session" not in client.cookies


def test_repeated_failures_are_rate_limited(client: TestClient, environment: str) -> None:
    for _ in range(10):
        status, _, _ = post_sign_in(client, environment, ADMIN, "wrong-password")
        assert status == 401

    status, _, text = post_sign_in(client, environment, ADMIN, PASSWORD)

    assert status == 429
    assert "Too many failed sign-in attempts" in text


def test_oauth2_mode_offers_the_form_with_local_1(
    client: TestClient, api: TestClient, environment: str
) -> None:
    set_oauth2(api, environment)

    page = client.get(f"/{environment}/SignIn?local=1")

    assert page.status_code == 200
    assert 'name="password"' in page.text
    assert "Sign in with the identity provider instead" in page.text


def test_oauth2_mode_lets_administrators_in_with_a_password(
    client: TestClient, api: TestClient, environment: str
) -> None:
    set_oauth2(api, environment)

    status, location, _ = post_sign_in(client, environment, ADMIN, PASSWORD, local=True)

    assert status == 303
    assert location == f"/{environment}/"


def test_oauth2_mode_sends_other_users_to_the_provider(
    client: TestClient, api: TestClient, environment: str
) -> None:
    set_oauth2(api, environment)

    status, _, text = post_sign_in(client, environment, USER, PASSWORD, local=True)

    assert status == 403
    assert "only administrators can sign in with a password here" in text


def test_deleted_sso_settings_bring_back_the_form(
    client: TestClient, api: TestClient, environment: str
) -> None:
    set_oauth2(api, environment)
    assert api.delete(f"/{environment}/SingleSignOnSettings/OAuth2").status_code == 200

    page = client.get(f"/{environment}/SignIn")

    assert page.status_code == 200
    assert 'name="password"' in page.text


def test_unknown_environment_gets_a_not_found_page(client: TestClient) -> None:
    page = client.get("/nowhere/SignIn")

    assert page.status_code == 404
    assert "There is no environment named 'nowhere'" in html.unescape(page.text)


def test_pages_carry_security_headers(client: TestClient, environment: str) -> None:
    page = client.get(f"/{environment}/SignIn")

    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_home_without_session_redirects_to_sign_in(client: TestClient, environment: str) -> None:
    response = client.get(f"/{environment}/")

    assert response.status_code == 303
    assert response.headers["location"] == f"/{environment}/SignIn?return_to=/{environment}/"


def test_temporary_password_must_be_replaced_first(
    client: TestClient, api: TestClient, environment: str
) -> None:
    created = api.post(
        "/Environment/?version=2.0",
        json={"EnvironmentName": "tailspin", "EmailAddress": "tom@tailspin.test"},
    )
    assert created.status_code == 200, created.text
    context = client.app.state.context  # type: ignore[attr-defined]
    run_async(OutboxWorker(context).run_once())
    mail = next((context.settings.data_dir / "mail").glob("*.eml")).read_text()
    temporary = re.search(r"Temporary password: (\S+)", mail)
    assert temporary is not None

    status, location, _ = post_sign_in(client, "tailspin", "tom@tailspin.test", temporary.group(1))
    assert status == 303
    assert location == "/tailspin/ChangePassword"
    token = form_token(client, location)
    changed = client.post(
        location,
        data={
            "new_password": "my-own-password",
            "confirm_password": "my-own-password",
            "csrf_token": token,
        },
    )
    assert changed.status_code == 303
    assert client.get("/tailspin/").status_code == 200

    status, _, _ = post_sign_in(client, "tailspin", "tom@tailspin.test", temporary.group(1))
    assert status == 401


def test_environment_name_in_other_case_redirects_to_canonical_path(
    client: TestClient, environment: str
) -> None:
    response = client.get("/Contoso/SignIn?local=1")

    assert response.status_code == 308
    assert response.headers["location"] == "/contoso/SignIn?local=1"


def test_unknown_page_gets_a_readable_not_found_page(client: TestClient) -> None:
    response = client.get("/contoso/NoSuchPage")

    assert response.status_code == 404
    assert "There is no page at" in html.unescape(response.text)


def test_page_path_in_other_case_reaches_the_page(client: TestClient, environment: str) -> None:
    response = client.get("/contoso/signin")

    assert response.status_code == 200
    assert 'name="password"' in response.text


def test_page_with_trailing_slash_redirects(client: TestClient, environment: str) -> None:
    response = client.get("/contoso/SignIn/?local=1")

    assert response.status_code == 308
    assert response.headers["location"] == "/contoso/SignIn?local=1"


def test_page_without_trailing_slash_redirects(client: TestClient, environment: str) -> None:
    response = client.get("/contoso/AdminPage")

    assert response.status_code == 308
    assert response.headers["location"] == "/contoso/AdminPage/"


def test_unknown_environment_page_not_redirected(client: TestClient) -> None:
    response = client.get("/nosuchenvironment/SignIn")

    assert response.status_code == 404
    assert "location" not in response.headers


def test_trailing_slash_post_not_redirected(client: TestClient, environment: str) -> None:
    response = client.post("/contoso/SignIn/", data={})

    assert response.status_code == 404


def test_file_name_not_redirected(client: TestClient) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 404
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("action", "page"),
    [
        ("/contoso/AdminPage/SingleSignOn/Verify", "/contoso/AdminPage/SingleSignOn"),
        ("/contoso/AdminPage/SingleSignOn/History/1/Restore", "/contoso/AdminPage/SingleSignOn"),
        ("/contoso/AdminPage/Users/1/Administrator", "/contoso/AdminPage/Users/1"),
    ],
)
def test_get_of_form_action_leads_to_its_page(
    client: TestClient, environment: str, action: str, page: str
) -> None:
    response = client.get(action)

    assert response.status_code == 303
    assert response.headers["location"] == page
