"""Helpers for tests of the single sign-on page: sign in, read a page's form, submit it."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.context import AppContext
from hatchway.db.models import SsoSettings
from tests.support.accounts import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token

SSO_PAGE = "/contoso/AdminPage/SingleSignOn"
IN_PROCESS_REDIRECT_URI = "http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse"

_HIDDEN = r'name="{name}" value="([^"]*)"'


def hidden_value(html: str, name: str) -> str | None:
    """Return the value of the first hidden field `name` in a page, or None."""
    match = re.search(_HIDDEN.format(name=re.escape(name)), html)
    return match.group(1) if match else None


def sign_in(client: TestClient, email: str = ADMIN_EMAIL) -> None:
    """Sign in on the local form, as an administrator with a password does in every mode."""
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


def submit(
    client: TestClient, action: str = "", page: str | None = None, **fields: str
) -> httpx.Response:
    """Submit the SSO form of `page` (fetched when None) to `SSO_PAGE + action`.

    The fields default to mode OAuth2 with empty values, plus the page's hidden fields.
    """
    html = page if page is not None else client.get(SSO_PAGE).text
    data = {
        "csrf_token": csrf_token(html),
        "based_on_version": hidden_value(html, "based_on_version") or "",
        "mode": "OAuth2",
        "authority": "",
        "client_id": "",
        "key": "",
        "key_expires_on": "",
    }
    for name in ("draft", "tested_run"):
        value = hidden_value(html, name)
        if value is not None:
            data[name] = value
    data.update(fields)
    return client.post(SSO_PAGE + action, data=data)


def stored_settings(context: AppContext) -> SsoSettings:
    with context.database.read() as session:
        return session.scalars(select(SsoSettings)).one()
