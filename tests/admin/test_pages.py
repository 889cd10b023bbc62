"""The administration pages that emergency access lands on: overview and single sign-on."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, SsoSettings
from tests.support.accounts import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    add_user,
    create_environment,
    csrf_token,
    redeem,
)

SSO_PAGE = "/contoso/AdminPage/SingleSignOn"
AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
CLIENT_ID = "00000000-0000-0000-0000-0000000000c1"
CANARY_KEY = "canary-key-value-5d1e"


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


def save(client: TestClient, **fields: str) -> httpx.Response:
    page = client.get(SSO_PAGE)
    form = {"authority": AUTHORITY, "client_id": CLIENT_ID, "key": "", "key_expires_on": ""}
    form.update(fields)
    return client.post(SSO_PAGE, data={**form, "csrf_token": csrf_token(page.text)})


def stored_settings(context: AppContext) -> SsoSettings:
    with context.database.read() as session:
        return session.scalars(select(SsoSettings)).one()


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


def test_non_administrator_cannot_save(
    api: TestClient, client: TestClient, context: AppContext
) -> None:
    create_environment(api)
    add_user(api, "contoso", "user@contoso.test", is_administrator=False)
    sign_in(client, "user@contoso.test")
    page = client.get("/contoso/SignIn?local=1")

    response = client.post(
        SSO_PAGE,
        data={
            "authority": AUTHORITY,
            "client_id": CLIENT_ID,
            "key": CANARY_KEY,
            "csrf_token": csrf_token(page.text),
        },
    )

    assert response.status_code == 403
    assert stored_settings(context).mode == "None"


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


def test_sso_page_shows_redirect_uri(administrator: None, client: TestClient) -> None:
    page = client.get(SSO_PAGE)

    assert page.status_code == 200
    assert (
        '<code id="redirect-uri">http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse</code>'
        in page.text
    )
    assert '<dd id="sso-mode">None</dd>' in page.text


def test_save_stores_new_version(
    administrator: None, client: TestClient, context: AppContext
) -> None:
    response = save(client, key=CANARY_KEY, key_expires_on="2027-06-30")

    assert response.status_code == 200
    assert "Saved as version 1." in response.text
    stored = stored_settings(context)
    assert stored.mode == "OAuth2"
    assert stored.authority == AUTHORITY
    assert stored.client_id == CLIENT_ID
    assert stored.key_expires_on is not None
    assert stored.key_expires_on.isoformat() == "2027-06-30"
    assert context.keyring.unseal(stored.key_sealed or "") == CANARY_KEY


def test_key_is_never_shown(administrator: None, client: TestClient) -> None:
    save(client, key=CANARY_KEY)

    page = client.get(SSO_PAGE)

    assert CANARY_KEY not in page.text
    assert '<input id="key" name="key" type="password" value=""' in page.text
    assert "A Key is stored. Leave this field empty to keep it." in page.text


def test_empty_key_keeps_stored_key(
    administrator: None, client: TestClient, context: AppContext
) -> None:
    save(client, key=CANARY_KEY)

    response = save(client, client_id="00000000-0000-0000-0000-0000000000c2")

    assert "Saved as version 2." in response.text
    assert context.keyring.unseal(stored_settings(context).key_sealed or "") == CANARY_KEY


def test_trimmed_key_is_noted_without_echo(administrator: None, client: TestClient) -> None:
    response = save(client, key=f"  {CANARY_KEY}\n")

    assert "Key started or ended with line breaks, now trimmed." in response.text
    assert CANARY_KEY not in response.text


def test_invalid_authority_is_shown_at_field(
    administrator: None, client: TestClient, context: AppContext
) -> None:
    response = save(client, authority="http://login.example.test/tenant", key=CANARY_KEY)

    assert response.status_code == 400
    assert 'id="authority-error"' in response.text
    assert "uses http; identity providers must be reached over https" in response.text
    assert 'value="http://login.example.test/tenant"' in response.text
    assert stored_settings(context).version == 0


def test_missing_key_is_shown_at_field(administrator: None, client: TestClient) -> None:
    response = save(client)

    assert response.status_code == 400
    assert 'id="key-error"' in response.text
    assert "Key is missing" in response.text


def test_invalid_expiry_date_is_refused(administrator: None, client: TestClient) -> None:
    response = save(client, key=CANARY_KEY, key_expires_on="31.12.2027")

    assert response.status_code == 400
    assert "KeyExpiresOn &#39;31.12.2027&#39; is not a date" in response.text


def test_save_without_csrf_is_refused(
    administrator: None, client: TestClient, context: AppContext
) -> None:
    response = client.post(
        SSO_PAGE, data={"authority": AUTHORITY, "client_id": CLIENT_ID, "key": CANARY_KEY}
    )

    assert response.status_code == 403
    assert "The form has expired" in response.text
    assert stored_settings(context).version == 0


def test_switch_to_mode_none(administrator: None, client: TestClient, context: AppContext) -> None:
    save(client, key=CANARY_KEY)
    page = client.get(SSO_PAGE)

    response = client.post(f"{SSO_PAGE}/Disable", data={"csrf_token": csrf_token(page.text)})

    assert response.status_code == 200
    assert "Single sign-on is off (mode None)" in response.text
    assert stored_settings(context).mode == "None"
    assert stored_settings(context).key_sealed is None


def test_switch_without_csrf_is_refused(
    administrator: None, client: TestClient, context: AppContext
) -> None:
    save(client, key=CANARY_KEY)

    response = client.post(f"{SSO_PAGE}/Disable", data={})

    assert response.status_code == 403
    assert stored_settings(context).mode == "OAuth2"


def test_change_is_audited_as_administrator(
    administrator: None, client: TestClient, context: AppContext
) -> None:
    save(client, key=CANARY_KEY)

    with context.database.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "sso.update")
        ).one()
    assert (record.actor_type, record.actor) == ("Administrator", ADMIN_EMAIL)
    assert CANARY_KEY not in f"{record.before} {record.after} {record.detail}"


def test_emergency_session_change_is_audited_as_such(
    api: TestClient, client: TestClient, context: AppContext
) -> None:
    create_environment(api)
    url = api.post(
        "/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"}
    ).json()["Url"]
    redeem(client, url)

    save(client, key=CANARY_KEY)

    with context.database.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "sso.update")
        ).one()
    assert record.actor_type == "EmergencySession"
