"""Helpers that set up environments and users through the Provisioning API, and read pages."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import httpx

ADMIN_EMAIL = "admin@contoso.test"
ADMIN_PASSWORD = "correct-horse-battery"

_CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')
_LINK_PATTERN = re.compile(r"https?://\S+/AdminPage/EmergencyAccess\?token=[A-Za-z0-9_-]+")


def create_environment(
    api: httpx.Client, name: str = "contoso", email: str = ADMIN_EMAIL, password: str | None = None
) -> str:
    """Create an environment with one administrator and return its name.

    `api` is a client for /Provisioning with the Provisioning Key: the `api` fixture (starlette's
    TestClient is an httpx.Client) or `LiveServer.api()`.
    """
    response = api.post(
        "/Environment/",
        json={
            "EnvironmentName": name,
            "EmailAddress": email,
            "FirstName": "Ada",
            "LastName": "Admin",
            "Password": password or ADMIN_PASSWORD,
        },
    )
    assert response.status_code == 200, response.text
    created: str = response.json()
    return created


def add_user(
    api: httpx.Client,
    environment: str,
    email: str,
    *,
    is_administrator: bool,
    password: str | None = ADMIN_PASSWORD,
) -> int:
    body: dict[str, object] = {
        "EmailAddress": email,
        "FirstName": "Bo",
        "LastName": "User",
        "IsAdministrator": is_administrator,
    }
    if password is not None:
        body["Password"] = password
    response = api.post(f"/{environment}/User/", json=body)
    assert response.status_code == 200, response.text
    user_id: int = response.json()
    return user_id


def csrf_token(html: str) -> str:
    """Return the CSRF token of the first form in a page."""
    match = _CSRF_PATTERN.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def link_in(message: EmailMessage) -> str:
    """Return the one-time link in a received mail."""
    body = message.get_content()
    match = _LINK_PATTERN.search(body)
    assert match, f"the mail has no emergency link: {body!r}"
    return match.group(0)


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def redeem(client: httpx.Client, url: str) -> httpx.Response:
    """Open a one-time link as a browser does, press its button, and return the POST response."""
    page = client.get(path_of(url))
    assert page.status_code == 200, page.text
    return client.post(
        urlsplit(url).path,
        data={"csrf_token": csrf_token(page.text), "token": token_of(url)},
    )
