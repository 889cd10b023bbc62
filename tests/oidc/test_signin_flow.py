"""Sign-in through the real oidc-provider, driven over HTTP: attempts, cookies, users, sessions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.cookiejar import Cookie
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from hatchway.db.models import SessionRecord, User
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.idp import OidcProvider, RegisteredClient
from tests.support.idp_http import authorize

ADMIN = "alice@contoso.test"


@pytest.fixture
def environment(live_server: LiveServer) -> str:
    with live_server.api() as api:
        response = api.post(
            "/Environment/",
            json={
                "EnvironmentName": "fabrikam",
                "EmailAddress": "Alice@Contoso.test",
                "FirstName": "Alice",
                "LastName": "Admin",
                "Password": "a-long-local-password",
            },
        )
    assert response.status_code == 200, response.text
    return "fabrikam"


@pytest.fixture
def registered_client(
    live_server: LiveServer, oidc_provider: OidcProvider, environment: str
) -> RegisteredClient:
    client = oidc_provider.register_client(
        [f"{live_server.url}/{environment}/OAuth2/HandleAuthorityResponse"]
    )
    with live_server.api() as api:
        response = api.put(
            f"/{environment}/SingleSignOnSettings/OAuth2",
            json={
                "Authority": oidc_provider.issuer,
                "ClientId": client.client_id,
                "Key": client.client_secret,
            },
        )
    assert response.status_code == 200, response.text
    return client


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """One cookie jar for Hatchway and the provider, as in a browser (cookies ignore ports)."""
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        yield client


def cookie(jar: httpx.Cookies, name: str) -> Cookie:
    matches = [item for item in jar.jar if item.name == name]
    assert len(matches) == 1, f"expected one cookie {name!r}, found {len(matches)}"
    return matches[0]


def start(browser: httpx.Client, live: LiveServer, environment: str, query: str = "") -> str:
    response = browser.get(f"{live.url}/{environment}/SignIn{query}")
    assert response.status_code == 302, response.text
    return response.headers["location"]


def finish(browser: httpx.Client, live: LiveServer, callback_url: str) -> httpx.Response:
    return browser.get(callback_url)


def sign_in(browser: httpx.Client, live: LiveServer, environment: str, login: str) -> None:
    authorization_url = start(browser, live, environment)
    callback = authorize(browser, authorization_url, login, relying_party_origin=live.url)
    response = finish(browser, live, callback)
    assert response.status_code == 303, response.text


@pytest.mark.usefixtures("registered_client")
def test_sign_in_request_carries_pkce_state_and_nonce(
    browser: httpx.Client, live_server: LiveServer, environment: str, oidc_provider: OidcProvider
) -> None:
    location = start(browser, live_server, environment)

    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{oidc_provider.issuer}/auth")
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 43
    assert len(query["nonce"][0]) >= 43
    assert "prompt" not in query  # a session at the provider signs people in without a form
    assert query["redirect_uri"] == [
        f"{live_server.url}/{environment}/OAuth2/HandleAuthorityResponse"
    ]


@pytest.mark.usefixtures("registered_client")
def test_attempt_cookie_is_short_lived_and_scoped(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    response = browser.get(f"{live_server.url}/{environment}/SignIn")

    header = response.headers["set-cookie"]
    assert header.startswith("hatchway_signin_")
    assert "HttpOnly" in header
    assert "SameSite=lax" in header
    assert "Max-Age=600" in header
    assert f"Path=/{environment}/OAuth2" in header
    state = parse_qs(urlsplit(response.headers["location"]).query)["state"][0]
    assert state not in header


@pytest.mark.usefixtures("registered_client")
def test_sign_in_binds_existing_administrator_by_email(
    browser: httpx.Client, live_server: LiveServer, environment: str, oidc_provider: OidcProvider
) -> None:
    sign_in(browser, live_server, environment, ADMIN)

    home = browser.get(f"{live_server.url}/{environment}/")
    assert home.status_code == 200
    assert "Alice@Contoso.test" in home.text
    with live_server.context.database.read() as session:
        user = session.scalars(select(User).where(User.email_key == ADMIN)).one()
        assert user.idp_issuer == oidc_provider.issuer
        assert user.idp_subject == ADMIN
        assert user.is_administrator
        assert user.last_sign_in_at is not None


@pytest.mark.usefixtures("registered_client")
def test_session_cookie_is_opaque_httponly_and_scoped(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    sign_in(browser, live_server, environment, ADMIN)

    session_cookie = cookie(browser.cookies, "hatchway_session")
    assert session_cookie.path == f"/{environment}"
    assert session_cookie.has_nonstandard_attr("HttpOnly")
    assert not session_cookie.secure
    assert session_cookie.value and len(session_cookie.value) >= 43
    with live_server.context.database.read() as session:
        stored = session.scalars(select(SessionRecord.id_hash)).all()
    assert session_cookie.value not in stored


@pytest.mark.usefixtures("registered_client")
def test_unknown_person_becomes_user_without_admin_rights(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    sign_in(browser, live_server, environment, "bob@contoso.test")

    with live_server.context.database.read() as session:
        user = session.scalars(select(User).where(User.email_key == "bob@contoso.test")).one()
        assert not user.is_administrator
        assert user.first_name == "Bob"
        assert user.password_hash is None


@pytest.mark.usefixtures("registered_client")
def test_two_tabs_signing_in_at_once_both_succeed(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    first = start(browser, live_server, environment)
    second = start(browser, live_server, environment)
    attempt_cookies = [item for item in browser.cookies.jar if item.name.startswith("hatchway_")]
    assert len(attempt_cookies) == 2

    first_callback = authorize(browser, first, ADMIN, relying_party_origin=live_server.url)
    second_callback = authorize(browser, second, ADMIN, relying_party_origin=live_server.url)

    assert finish(browser, live_server, second_callback).status_code == 303
    assert finish(browser, live_server, first_callback).status_code == 303


@pytest.mark.usefixtures("registered_client")
def test_replayed_callback_is_refused(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    callback = authorize(
        browser,
        start(browser, live_server, environment),
        ADMIN,
        relying_party_origin=live_server.url,
    )
    assert finish(browser, live_server, callback).status_code == 303

    replay = finish(browser, live_server, callback)

    assert replay.status_code == 400
    assert "unknown or has expired" in replay.text


@pytest.mark.usefixtures("registered_client")
def test_callback_from_another_browser_is_refused(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    callback = authorize(
        browser,
        start(browser, live_server, environment),
        ADMIN,
        relying_party_origin=live_server.url,
    )

    with httpx.Client(timeout=30) as stranger:
        response = stranger.get(callback)

    assert response.status_code == 400
    assert "must finish in the browser that started it" in response.text
    assert "Request emergency access" in response.text


@pytest.mark.usefixtures("registered_client")
def test_provider_error_parameter_is_shown_in_plain_words(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    location = start(browser, live_server, environment)
    state = parse_qs(urlsplit(location).query)["state"][0]

    response = browser.get(
        f"{live_server.url}/{environment}/OAuth2/HandleAuthorityResponse",
        params={
            "error": "access_denied",
            "error_description": "AADSTS50105: The signed in user is not assigned to a role.",
            "state": state,
        },
    )

    assert response.status_code == 400
    assert "The identity provider refused the sign-in" in response.text
    assert "AADSTS50105" in response.text
    assert not any(item.name.startswith("hatchway_signin_") for item in browser.cookies.jar)


@pytest.mark.usefixtures("registered_client")
def test_return_to_outside_the_environment_is_ignored(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    location = start(browser, live_server, environment, "?return_to=https://evil.test/x")
    callback = authorize(browser, location, ADMIN, relying_party_origin=live_server.url)

    response = finish(browser, live_server, callback)

    assert response.headers["location"] == f"/{environment}/"


@pytest.mark.usefixtures("registered_client")
def test_return_to_inside_the_environment_is_followed(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    target = f"/{environment}/ChangePassword"
    location = start(browser, live_server, environment, f"?return_to={target}")
    callback = authorize(browser, location, ADMIN, relying_party_origin=live_server.url)

    response = finish(browser, live_server, callback)

    assert response.headers["location"] == target


@pytest.mark.usefixtures("registered_client")
def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    sign_in(browser, live_server, environment, ADMIN)
    token = cookie(browser.cookies, "hatchway_session").value

    signed_out = browser.get(f"{live_server.url}/{environment}/SignOut")
    assert signed_out.status_code == 200
    assert "You are signed out" in signed_out.text

    with httpx.Client(timeout=30, cookies={"hatchway_session": token}) as other:
        home = other.get(f"{live_server.url}/{environment}/")
    assert home.status_code == 303
    assert home.headers["location"].startswith(f"/{environment}/SignIn")


@pytest.mark.usefixtures("registered_client")
def test_deactivated_user_cannot_sign_in(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    with live_server.api() as api:
        users = api.get(f"/{environment}/User/").json()
        api.post(
            f"/{environment}/User/",
            json={"EmailAddress": "carol@contoso.test", "IsAdministrator": False},
        )
        carol = next(
            user["Id"]
            for user in api.get(f"/{environment}/User/").json()
            if user["EmailAddress"] == "carol@contoso.test"
        )
        response = api.put(f"/{environment}/User/{carol}/", json={"IsActive": False})
        assert response.status_code == 200, response.text
    assert users

    location = start(browser, live_server, environment)
    callback = authorize(
        browser, location, "carol@contoso.test", relying_party_origin=live_server.url
    )
    response = finish(browser, live_server, callback)

    assert response.status_code == 400
    assert "is deactivated in this environment" in response.text


@pytest.mark.usefixtures("registered_client")
def test_deactivated_environment_refuses_sign_in(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    with live_server.api() as api:
        assert api.put(f"/Environment/{environment}/Deactivate/").status_code == 200

    response = browser.get(f"{live_server.url}/{environment}/SignIn")

    assert response.status_code == 403
    assert "is deactivated" in response.text


def test_unreachable_provider_shows_a_page_not_an_error(
    browser: httpx.Client, live_server: LiveServer, environment: str
) -> None:
    closed_port_authority = "http://127.0.0.1:9"
    with live_server.api() as api:
        response = api.put(
            f"/{environment}/SingleSignOnSettings/OAuth2?verify=false",
            content=json.dumps(
                {"Authority": closed_port_authority, "ClientId": "hatchway", "Key": "secret"}
            ),
            headers={"Content-Type": "application/json", "ProvisioningKey": PROVISIONING_KEY},
        )
        assert response.status_code == 200, response.text

    page = browser.get(f"{live_server.url}/{environment}/SignIn")

    assert page.status_code == 502
    assert "The identity provider could not be reached" in page.text
    assert "Sign in with a password (administrators)" in page.text
